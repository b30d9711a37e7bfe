// Validation of the box payload a client sends to save an image's labels:
//
//   {"version": 3, "boxes": [{"class_id": 1, "x1": 10, "y1": 20, "x2": 110.5, "y2": 220, "ref": 0}, ...]}
//
// - version: the version of the labels the client started from (an integer >= 0); see label_project.h.
// - class_id: an integer index into the data set's classes; "class": "<name>" is accepted instead.
// - x1, y1, x2, y2: finite numbers, upright-image pixels (label_types.h), x2 > x1 and y2 > y1, each side at
//   least kMinBoxSide px; a box may cross the image border by at most dataset::bounds_tolerance(side)
//   (it is then clipped to the image), beyond that it is refused.
// - ref (optional): the index of the stored box this one came from (GET returns the stored boxes in
//   order); its attributes that the payload does not carry (VOC difficult/truncated/pose, COCO iscrowd,
//   id, and segmentation while the box is unchanged) are kept.
//
// Failure modes: every problem is kInvalidArgument with a message naming the field, e.g.
// "boxes[2].x2 = 700 is outside the image (width 640)"; the first problem found is reported.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/geometry.h"
#include "core/result.h"
#include "labeling/label_types.h"

namespace visearch::labeling {

inline constexpr double kMinBoxSide = 1.0;  // px; a click without a drag is not a box
inline constexpr std::size_t kMaxBoxesPerImage = 5000;

struct BoxEdit {
  LabelBox box;
  int ref = -1;  // index of the stored box it replaces, -1 for a new box
};

struct SavePayload {
  std::int64_t version = 0;
  std::vector<BoxEdit> boxes;
};

// Parses the JSON text of a save request. `stored_boxes` bounds `ref`.
Result<SavePayload> parse_save_payload(std::string_view body, const std::vector<std::string>& classes,
                                       Size image, std::size_t stored_boxes);
// The same on a parsed document.
Result<SavePayload> parse_save_payload(const nlohmann::json& body, const std::vector<std::string>& classes,
                                       Size image, std::size_t stored_boxes);

// Validates one box (already parsed) against the image; returns it clipped to the image.
// `where` prefixes messages ("boxes[2]").
Result<LabelBox> validate_box(const LabelBox& box, std::size_t num_classes, Size image,
                              const std::string& where);

}  // namespace visearch::labeling
