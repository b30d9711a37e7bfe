// YOLO (Ultralytics) annotations: one .txt per image with lines "class x_center y_center width height",
// normalised to [0, 1] by the image size, plus a class list in data.yaml (Ultralytics layout:
// images/<split>/x.jpg beside labels/<split>/x.txt) or in classes.txt / obj.names (darknet, LabelImg).
// Polygon lines ("class x1 y1 x2 y2 ... xn yn", n >= 3) are read as their bounding box.
//
// Failure modes: every malformed line (wrong column count, not a number, class id out of range,
// negative size, box outside the image beyond bounds_tolerance) is a Diagnostic naming file and line;
// the other lines of the file are still read. parse_* never throws or crashes on any input.
// Thread-safety: reentrant.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "dataset/dataset.h"

namespace visearch::dataset {

struct YoloLabel {
  int class_id = 0;
  double cx = 0;  // normalised centre and size
  double cy = 0;
  double w = 0;
  double h = 0;
  int line = 0;
  bool from_polygon = false;
};

struct YoloLabelFile {
  std::vector<YoloLabel> labels;
  Diagnostics diagnostics;
};

// Parses one label file's text. num_classes <= 0 disables the class range check.
YoloLabelFile parse_yolo_labels(std::string_view text, const std::string& origin, int num_classes);

// Renders labels as a label file ("%d %.6f %.6f %.6f %.6f" lines).
std::string format_yolo_labels(const std::vector<YoloLabel>& labels);

struct YoloSplitSource {
  std::string key;                   // "train", "val", "test" (the data.yaml key)
  std::vector<std::string> sources;  // folders or list files, as written (relative to the root)
};

struct YoloConfig {
  std::string root;                // resolved `path` (absolute or relative to the yaml's folder)
  std::vector<std::string> names;  // class id -> name
  std::vector<YoloSplitSource> splits;
};

// Parses data.yaml text (yaml-cpp). `yaml_dir` resolves a relative `path`. kInvalidArgument with
// file:line for YAML syntax errors, a missing or malformed `names`, or an `nc` that disagrees.
Result<YoloConfig> parse_data_yaml(std::string_view text, const std::string& origin,
                                   const std::string& yaml_dir);

// classes.txt / obj.names: one name per non-empty line.
std::vector<std::string> parse_class_names(std::string_view text);

Result<Dataset> read_yolo(const std::string& path, const LoadOptions& options);

// Writes images/<split>/<file>, labels/<split>/<stem>.txt, data.yaml and classes.txt under `out_dir`.
// An empty split writes images/ and labels/ directly.
Result<WriteReport> write_yolo(const Dataset& dataset, const std::string& out_dir,
                               const WriteOptions& options);

}  // namespace visearch::dataset
