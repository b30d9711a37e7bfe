// The in-memory data set shared by the YOLO, COCO and Pascal VOC readers and writers.
//
// Coordinates: every box is in continuous pixel coordinates of the upright image, origin at the top-left
// corner of the top-left pixel, x2/y2 exclusive (COCO and YOLO convention). Pascal VOC values are taken
// verbatim (xmin -> x1, xmax -> x2), as CVAT, Roboflow and the shipped voc2012-sample100 copies do, so a
// VOC box 174..349 is 175 px wide in every format. Coordinates are doubles: nothing is rounded until a
// writer has to (VOC stores whole pixels; such rounding is reported).
//
// Reading never stops at the first problem: a malformed file becomes a Diagnostic (file:line), the image
// it describes is marked `has_errors` and keeps whatever was valid; load_dataset() itself fails only when
// nothing can be read at all (missing path, unreadable class list).
//
// Thread-safety: plain values; load_dataset() is reentrant.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/geometry.h"
#include "core/result.h"
#include "dataset/diagnostics.h"

namespace visearch::dataset {

enum class DatasetFormat { kAuto, kYolo, kCoco, kVoc };

std::string_view format_name(DatasetFormat format);         // "auto", "yolo", "coco", "voc"
Result<DatasetFormat> parse_format(std::string_view name);  // kInvalidArgument for other names

struct PixelBox {
  double x1 = 0;
  double y1 = 0;
  double x2 = 0;
  double y2 = 0;

  [[nodiscard]] double width() const { return x2 - x1; }
  [[nodiscard]] double height() const { return y2 - y1; }
  [[nodiscard]] double area() const { return width() > 0 && height() > 0 ? width() * height() : 0.0; }
};

struct Annotation {  // NOLINT(bugprone-exception-escape): clang-tidy 14 false positive on implicit members
  int class_id = 0;  // index into Dataset::classes
  PixelBox box;
  bool iscrowd = false;                 // COCO iscrowd
  std::optional<bool> difficult;        // Pascal VOC; nullopt when the source format has no such flag
  std::optional<bool> truncated;        // Pascal VOC
  std::optional<bool> occluded;         // Pascal VOC / CVAT attribute
  std::string pose;                     // Pascal VOC pose ("" when absent or "Unspecified")
  std::optional<double> area;           // COCO area (segmentation area) when the source gives one
  std::optional<std::int64_t> coco_id;  // COCO annotation id when read from COCO
  nlohmann::json segmentation;          // COCO segmentation (polygon list or RLE); null when none
  int line = 0;                         // where it was read (diagnostics); 0 = unknown
};

struct ImageRecord {
  std::string file;             // name relative to its image folder as the annotations give it
  std::string path;             // where the image was found on disk; empty when it was not found
  std::string annotation_file;  // the file its annotations came from (YOLO .txt, VOC .xml, COCO .json)
  std::string split;            // "" when the data set has no splits
  int width = 0;                // upright pixels; 0 when unknown
  int height = 0;
  std::optional<std::int64_t> coco_id;
  std::vector<Annotation> annotations;
  bool labelled = true;     // false: no annotation file / entry exists for this image
  bool has_errors = false;  // some annotation of this image could not be read
};

struct Dataset {
  DatasetFormat format = DatasetFormat::kAuto;
  std::string root;                        // what was opened
  std::vector<std::string> classes;        // class id -> name
  std::vector<std::int64_t> category_ids;  // COCO category id per class (empty unless read from COCO)
  std::vector<ImageRecord> images;
  std::vector<std::string> orphan_annotations;       // annotation files naming no existing image
  std::map<std::string, std::string> split_aliases;  // e.g. YOLO "val" -> "train" when both use one folder
  Diagnostics diagnostics;

  // Distinct split names in first-seen order.
  [[nodiscard]] std::vector<std::string> splits() const;
  // True when image `index` belongs to `split` directly or through split_aliases.
  [[nodiscard]] bool in_split(const ImageRecord& image, const std::string& split) const;
  [[nodiscard]] int class_id_of(std::string_view name) const;  // -1 when absent
};

// Returns the upright size of the image at `path` (decodes it by default).
using SizeProbe = std::function<Result<Size>(const std::string& path)>;

struct LoadOptions {
  DatasetFormat format = DatasetFormat::kAuto;
  std::string images_dir;  // where to look for images first (label-only layouts)
  SizeProbe probe_size;    // default: decode the image with io::decode_image
};

// Opens a data set: a folder (auto-detected layout), a data.yaml, a COCO .json or a folder of VOC .xml.
Result<Dataset> load_dataset(const std::string& path, const LoadOptions& options = {});

// Detects the format of `path` from its layout; kInvalidArgument when nothing matches.
Result<DatasetFormat> detect_format(const std::string& path);

// The default SizeProbe: decodes the image (EXIF orientation applied).
Result<Size> decode_image_size(const std::string& path);

// Class names match when equal after lower-casing and removing spaces, '_' and '-'.
std::string normalize_class_name(std::string_view name);

// Tolerance for boxes outside the image: max(1 px, 0.1 % of the side).
double bounds_tolerance(int side);

}  // namespace visearch::dataset

namespace visearch::dataset {

// How a writer places image files in the output data set.
enum class ImageMode { kCopy, kSymlink, kNone };

struct WriteOptions {
  ImageMode images = ImageMode::kCopy;
};

struct WriteReport {
  std::size_t images_written = 0;           // images whose annotations were written
  std::size_t annotations_written = 0;      // boxes written
  std::size_t files_written = 0;            // annotation + image files
  std::vector<std::string> skipped_images;  // not written because their annotations had errors
  // What the target format cannot hold, e.g. "difficult flag (YOLO has none)" -> number of boxes.
  std::map<std::string, std::size_t> not_representable;
  Diagnostics diagnostics;  // write failures (kIo) per file
};

}  // namespace visearch::dataset
