// What the end-to-end families (tf_od_api, torchvision, detr, yolo_end2end) share: their outputs are
// already boxes and scores, so what differs is read from the spec's "decoder" object, never from the graph:
//
//   "class_ids": [g0, g1, ...]   the graph's class id for each label, in label order (a user's label map
//                                with gaps); or "coco91": the 80 COCO labels' ids in the 91-id COCO map
//                                (1 person .. 90 toothbrush, 12 26 29 30 45 66 68 69 71 83 unused)
//   "class_id_offset": k         otherwise label i is graph id i + k (the family's default: 1 for the
//                                1-based TensorFlow and torchvision ids, 0 for DETR and YOLO)
//   "outputs": {"boxes": "name"} output names by role, where the family matches by name
//   "nms": false                 true runs visearch's NMS again on the graph's boxes (default: the boxes
//                                are final, the Detector keeps the best max_detections by score)
//
// A graph id that is none of the labels' (a background id, an unused COCO id) yields no candidate.
#pragma once

#include <string>
#include <vector>

#include "model/family_registry.h"

namespace visearch {

class ClassIdMap {
 public:
  static Result<ClassIdMap> from_spec(const ModelSpec& spec, int default_offset);
  // The label index of a graph class id (given as the float the tensor holds), or -1.
  [[nodiscard]] int label_of(float graph_id) const;
  // The graph id of a label (for layouts with one score column per graph class).
  [[nodiscard]] int graph_id_of(int label) const { return graph_ids_[static_cast<std::size_t>(label)]; }
  [[nodiscard]] int num_labels() const { return static_cast<int>(graph_ids_.size()); }

 private:
  std::vector<int> graph_ids_;       // label -> graph id
  std::vector<int> label_of_graph_;  // graph id -> label, -1 = none
};

// A decoder whose boxes are final unless the spec's "nms" says otherwise.
class EndToEndDecoder : public Decoder {
 public:
  explicit EndToEndDecoder(bool nms) : nms_(nms) {}
  [[nodiscard]] bool needs_nms() const override { return nms_; }

 private:
  bool nms_;
};

// decoder.nms (default false); kInvalidSpec when it is not a boolean.
Result<bool> spec_nms(const ModelSpec& spec);
// decoder.outputs.<role>, or `fallback` when the spec does not name it.
Result<std::string> spec_output_name(const ModelSpec& spec, const std::string& role,
                                     const std::string& fallback);
// The output called `name`, or kInference naming the family and listing what the graph gave.
Result<const Tensor*> named_output(const std::vector<Tensor>& outputs, const std::string& name,
                                   const std::string& family);

}  // namespace visearch
