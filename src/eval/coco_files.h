// Loading an evaluation from COCO files: a ground-truth instances JSON and detections, either a results
// list ([{image_id, category_id, bbox, score}], the pycocotools loadRes format) or an instances-style
// object whose "annotations" carry scores. When the detections file has its own "images" and
// "categories", its ids are mapped onto the ground truth by file name and category name (so files
// exported by different tools with different ids still compare); detections that match nothing are
// reported and left out.
//
// Failure modes: kNotFound / kIo for unreadable files; kInvalidArgument (file:line) for malformed JSON,
// a ground-truth file that is a results list, or detections on images absent from the ground truth.
// Thread-safety: reentrant.
#pragma once

#include <string>

#include "core/result.h"
#include "dataset/diagnostics.h"
#include "eval/coco_eval.h"

namespace visearch::eval {

struct LoadedEvaluation {
  EvalInput input;
  dataset::Diagnostics diagnostics;     // problems in either file (entries left out are errors)
  std::size_t detections_remapped = 0;  // detections whose ids were mapped by file/category name
};

Result<LoadedEvaluation> load_coco_evaluation(const std::string& ground_truth_path,
                                              const std::string& detections_path);

}  // namespace visearch::eval
