// The edit-cost matching rule of bench/label_edit_cost (docs/labelling.md): how many box edits a person
// needs to turn a set of proposals into the ground truth.
//
// Proposals and ground-truth boxes are matched one-to-one in three greedy passes, each taking the pair
// with the highest IoU first among the boxes still unmatched:
//   1. same class, IoU >= keep_iou (0.5)               -> kept: accepted as is, no edit
//   2. other class, IoU >= keep_iou                     -> class change: 1 edit (pick the class)
//   3. same class, move_iou (0.1) <= IoU < keep_iou     -> move: 1 edit (drag / resize the box)
// Every proposal still unmatched is a delete (1 edit) and every ground-truth box still unmatched is an add
// (1 edit: drawing a box). Starting from nothing, the cost is one add per ground-truth box.
//
// Thread-safety: pure function.
#pragma once

#include <cstddef>
#include <vector>

#include "labeling/label_types.h"

namespace visearch::labeling {

struct EditCostOptions {
  double keep_iou = 0.5;
  double move_iou = 0.1;
};

struct EditCount {
  std::size_t truth = 0;
  std::size_t proposals = 0;
  std::size_t kept = 0;
  std::size_t class_changes = 0;
  std::size_t moves = 0;
  std::size_t deletes = 0;
  std::size_t adds = 0;

  [[nodiscard]] std::size_t edits() const { return class_changes + moves + deletes + adds; }
  EditCount& operator+=(const EditCount& other);
};

EditCount count_edits(const std::vector<LabelBox>& proposals, const std::vector<LabelBox>& truth,
                      const EditCostOptions& options = {});

}  // namespace visearch::labeling
