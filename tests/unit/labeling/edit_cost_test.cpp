// The edit-cost matching rule (edit_cost.h) on hand-made cases.
#include <gtest/gtest.h>

#include "labeling/edit_cost.h"

namespace visearch::labeling {
namespace {

TEST(EditCost, FromNothingEveryTruthBoxIsAnAdd) {
  const EditCount c = count_edits({}, {{0, 0, 0, 10, 10}, {1, 20, 20, 40, 40}});
  EXPECT_EQ(c.adds, 2U);
  EXPECT_EQ(c.edits(), 2U);
}

TEST(EditCost, GoodProposalsNeedNoEdit) {
  const EditCount c =
      count_edits({{0, 1, 1, 11, 11}, {1, 20, 20, 40, 40}}, {{0, 0, 0, 10, 10}, {1, 20, 20, 40, 41}});
  EXPECT_EQ(c.kept, 2U);
  EXPECT_EQ(c.edits(), 0U);
}

TEST(EditCost, WrongClassIsAClassChangeLowOverlapIsAMoveNoOverlapIsDeletePlusAdd) {
  // IoU(0..10, 0..10) vs (5..15, 0..10) = 50 / 150 = 0.33 -> move.
  const EditCount move = count_edits({{0, 5, 0, 15, 10}}, {{0, 0, 0, 10, 10}});
  EXPECT_EQ(move.moves, 1U);
  EXPECT_EQ(move.edits(), 1U);
  const EditCount relabel = count_edits({{2, 0, 0, 10, 10}}, {{0, 0, 0, 10, 10}});
  EXPECT_EQ(relabel.class_changes, 1U);
  EXPECT_EQ(relabel.edits(), 1U);
  const EditCount far = count_edits({{0, 50, 50, 60, 60}}, {{0, 0, 0, 10, 10}});
  EXPECT_EQ(far.deletes, 1U);
  EXPECT_EQ(far.adds, 1U);
  EXPECT_EQ(far.edits(), 2U);
  // Wrong class AND low overlap: no cheap fix.
  const EditCount both = count_edits({{1, 5, 0, 15, 10}}, {{0, 0, 0, 10, 10}});
  EXPECT_EQ(both.edits(), 2U);
}

TEST(EditCost, DuplicateProposalsCostADeleteEach) {
  const EditCount c =
      count_edits({{0, 0, 0, 10, 10}, {0, 0, 0, 10, 9}, {0, 0, 0, 9, 10}}, {{0, 0, 0, 10, 10}});
  EXPECT_EQ(c.kept, 1U);
  EXPECT_EQ(c.deletes, 2U);
}

TEST(EditCost, GreedyTakesTheBestOverlapFirst) {
  // Proposal A overlaps both truths; the better pair (A, T2) must be kept, then B takes T1.
  const EditCount c =
      count_edits({{0, 0, 0, 10, 10}, {0, 0, 0, 8, 10}}, {{0, 0, 0, 8, 10}, {0, 0, 0, 10, 10}});
  EXPECT_EQ(c.kept, 2U);
  EXPECT_EQ(c.edits(), 0U);
}

TEST(EditCost, Accumulates) {
  EditCount total;
  total += count_edits({}, {{0, 0, 0, 1, 1}});
  total += count_edits({{0, 0, 0, 1, 1}}, {});
  EXPECT_EQ(total.adds, 1U);
  EXPECT_EQ(total.deletes, 1U);
  EXPECT_EQ(total.truth, 1U);
  EXPECT_EQ(total.proposals, 1U);
}

}  // namespace
}  // namespace visearch::labeling
