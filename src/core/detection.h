// Detection results and the generic post-processing shared by all families.
#pragma once

#include <cstddef>
#include <vector>

#include "core/geometry.h"

namespace visearch {

// A candidate straight out of a family decoder, in model-input pixels.
struct Candidate {
  InputBox box;
  int class_id = 0;
  float score = 0.F;
};

// A final detection in original-image pixels.
struct Detection {
  ImageBox box;
  int class_id = 0;
  float score = 0.F;
};

struct NmsOptions {
  float iou_threshold = 0.45F;
  bool class_agnostic = false;
  std::size_t max_detections = 100;
};

// Greedy non-maximum suppression: highest score first (ties keep decoder order),
// drops a box whose IoU with a kept box of the same class (any class when
// class_agnostic) exceeds iou_threshold. Returns at most max_detections,
// sorted by descending score.
std::vector<Candidate> non_max_suppression(std::vector<Candidate> candidates, const NmsOptions& options);

}  // namespace visearch
