// Where one image's labels live in each data-set format, and reading/writing them through the data-set
// tools of src/dataset (format_yolo_labels, format_voc_xml, dump_coco_json, write_file_atomic).
//
// Layout for an image that has no labels yet (the same places dataset::load_dataset() reads from):
//   YOLO: Ultralytics rule, .../images/<sub>/x.jpg -> .../labels/<sub>/x.txt (last "images" folder under
//         the root); otherwise beside the image (x.txt). Class list: data.yaml / classes.txt / obj.names
//         when present, else classes.txt in the root is written with the first save.
//   VOC:  Annotations/<stem>.xml when the root has Annotations/, JPEGImages/ or images/ (devkit layout,
//         plus classes.txt for the class order); otherwise <stem>.xml beside the image.
//   COCO: the instances file of the image's split (annotations/instances_<split>.json, created with
//         categories when missing); the image gets an "images" entry on its first save.
// Stored coordinates: YOLO normalised centre/size (6 decimals), VOC whole pixels (xmin = x1, xmax = x2,
// rounded), COCO [x, y, width, height] in pixels (2 decimals).
//
// Every write is atomic (temporary file, fsync, rename): a reader or a crash sees the old or the new file.
// For COCO only the image's own "images" entry and "annotations" change; everything else in the file is
// kept as it was.
//
// Failure modes: kIo (naming the file) on read/write failures; kInvalidArgument when an existing COCO file
// is not valid JSON (it is then left untouched). Thread-safety: reentrant; callers serialise writes to one
// file (LabelProject holds its lock).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "dataset/dataset.h"

namespace visearch::labeling {

// One image of the labelling project and the labels it has on disk.
struct ImageEntry {
  std::string id;    // stable opaque id (hash of key), used in URLs
  std::string key;   // path relative to the data-set root, '/'-separated
  std::string path;  // the image file
  std::string split;
  std::string label_file;      // YOLO .txt / VOC .xml / COCO .json that holds (or will hold) its labels
  std::string coco_file_name;  // COCO "file_name" (listed or to be listed)
  std::optional<std::int64_t> coco_id;  // COCO image id once listed
  int width = 0;                        // upright pixels; 0 until known
  int height = 0;
  bool size_checked = false;  // width/height were measured by decoding the image
  std::vector<dataset::Annotation> annotations;
  bool has_labels = false;   // label data exists on disk
  bool read_errors = false;  // some of its labels could not be read
};

struct StoreLayout {
  dataset::DatasetFormat format = dataset::DatasetFormat::kYolo;
  std::string root;
  std::vector<std::string> classes;
  std::string class_file;  // YOLO/VOC class list written on the first save when missing; "" = none
  bool voc_devkit = false;
};

// The label file for an image at `image_path` that has none yet (see the layout above). For COCO,
// `coco_file` is the instances file to use.
std::string default_label_file(const StoreLayout& layout, const std::string& image_path,
                               const std::string& coco_file);

// The labels the image has on disk now, as text to keep in the history (YOLO/VOC: the file; COCO: a JSON
// array of the image's annotation objects); nullopt when it has none.
Result<std::optional<std::string>> current_labels_text(const StoreLayout& layout, const ImageEntry& image);

// Writes `annotations` as the image's labels and returns them as stored (read back through the format's
// parser, so the caller holds exactly what the file says). Updates image.coco_id / label_file.
Result<std::vector<dataset::Annotation>> write_labels(const StoreLayout& layout, ImageEntry& image,
                                                      const std::vector<dataset::Annotation>& annotations);

}  // namespace visearch::labeling
