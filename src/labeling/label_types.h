// Value types of the labelling service (label_project.h): a labelled box, a detector proposal, the
// review status of an image.
//
// Coordinates: continuous pixels of the upright image (EXIF orientation applied), origin at the top-left
// corner of the top-left pixel, x2/y2 exclusive, as in dataset.h and the detection JSON. Class ids index
// the data set's class list.
//
// Thread-safety: plain values.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace visearch::labeling {

// unlabelled: no labels on disk and no pending proposals. pre_labelled: a detector proposed boxes that no
// one has reviewed yet (no labels on disk). reviewed: the image has labels on disk (saved in the tool or
// present before it opened the data set; an empty label file means "no objects").
enum class ImageStatus { kUnlabelled, kPreLabelled, kReviewed };

std::string_view status_name(ImageStatus status);  // "unlabelled", "pre_labelled", "reviewed"
// Also accepts "pre-labelled" and "prelabelled"; kInvalidArgument otherwise.
Result<ImageStatus> parse_status(std::string_view name);

struct LabelBox {
  int class_id = 0;
  double x1 = 0;
  double y1 = 0;
  double x2 = 0;
  double y2 = 0;

  [[nodiscard]] double width() const { return x2 - x1; }
  [[nodiscard]] double height() const { return y2 - y1; }
  friend bool operator==(const LabelBox&, const LabelBox&) = default;
};

// Intersection over union; 0 when both boxes are empty.
double box_iou(const LabelBox& a, const LabelBox& b);

// A detector's box mapped to a data-set class.
struct Proposal {
  LabelBox box;
  float score = 0.F;
  std::string detector_label;  // the model's label before mapping
};

}  // namespace visearch::labeling
