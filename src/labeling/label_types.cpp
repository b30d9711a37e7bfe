#include "labeling/label_types.h"

#include <algorithm>

namespace visearch::labeling {

std::string_view status_name(ImageStatus status) {
  switch (status) {
    case ImageStatus::kUnlabelled:
      return "unlabelled";
    case ImageStatus::kPreLabelled:
      return "pre_labelled";
    case ImageStatus::kReviewed:
      return "reviewed";
  }
  return "unlabelled";
}

Result<ImageStatus> parse_status(std::string_view name) {
  if (name == "unlabelled" || name == "unlabeled") return ImageStatus::kUnlabelled;
  if (name == "pre_labelled" || name == "pre-labelled" || name == "prelabelled")
    return ImageStatus::kPreLabelled;
  if (name == "reviewed") return ImageStatus::kReviewed;
  return Unexpected{ErrorCode::kInvalidArgument, "unknown status '" + std::string(name) +
                                                     "' (expected unlabelled, pre_labelled or reviewed)"};
}

double box_iou(const LabelBox& a, const LabelBox& b) {
  const double ix = std::max(0.0, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  const double iy = std::max(0.0, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  const double inter = ix * iy;
  const double area_a = std::max(0.0, a.width()) * std::max(0.0, a.height());
  const double area_b = std::max(0.0, b.width()) * std::max(0.0, b.height());
  const double uni = area_a + area_b - inter;
  return uni > 0 ? inter / uni : 0.0;
}

}  // namespace visearch::labeling
