// Pascal VOC XML: one <annotation> file per image with <filename>, <size> and <object> elements
// (<name>, <pose>, <truncated>, <difficult>, <occluded>, <bndbox> xmin/ymin/xmax/ymax). Folder layout:
// Annotations/*.xml, JPEGImages/*, ImageSets/Main/<split>.txt. Coordinates are read verbatim (see
// dataset.h) and written as whole pixels (rounding is reported).
//
// Failure modes: invalid XML is an Error with file:line; a bad <object> (no name, missing or
// non-numeric coordinate, xmax < xmin, box outside <size>) is a Diagnostic with its line and is left
// out. Never throws or crashes on any input. Thread-safety: reentrant.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "dataset/dataset.h"

namespace visearch::dataset {

struct VocObject {
  std::string name;
  std::string pose;
  std::optional<bool> truncated;
  std::optional<bool> difficult;
  std::optional<bool> occluded;
  PixelBox box;
  int line = 0;
};

struct VocDocument {
  std::string folder;
  std::string filename;
  int width = 0;  // 0 when <size> is absent or zero
  int height = 0;
  int depth = 0;
  std::vector<VocObject> objects;
  Diagnostics diagnostics;
};

Result<VocDocument> parse_voc_xml(std::string_view text, const std::string& origin);

// Renders one annotation file; coordinates are rounded to whole pixels.
std::string format_voc_xml(const VocDocument& document);

// Reads a VOC folder (VOCdevkit/VOC2012, or any folder of .xml files).
Result<Dataset> read_voc(const std::string& path, const LoadOptions& options);

Result<WriteReport> write_voc(const Dataset& dataset, const std::string& out_dir,
                              const WriteOptions& options);

}  // namespace visearch::dataset
