// SimOTA on hand-made cases whose assignment can be worked out by hand.
#include <gtest/gtest.h>

#include <vector>

#include "train/simota.h"

namespace visearch::train {
namespace {

// A 4x4 grid of stride 8 (a 32x32 input): cell centres at 4, 12, 20, 28.
std::vector<AnchorPoint> grid4() {
  std::vector<AnchorPoint> anchors;
  for (int gy = 0; gy < 4; ++gy) {
    for (int gx = 0; gx < 4; ++gx)
      anchors.push_back({static_cast<float>(gx) * 8.F + 4.F, static_cast<float>(gy) * 8.F + 4.F, 8.F});
  }
  return anchors;
}

struct Preds {
  std::vector<float> boxes;
  std::vector<float> cls;
  std::vector<float> obj;
};

// Every anchor predicts a tiny box far from everything, class probabilities `p` and objectness 0.5.
Preds far_predictions(std::size_t anchors, std::vector<float> p) {
  Preds out;
  for (std::size_t a = 0; a < anchors; ++a) {
    out.boxes.insert(out.boxes.end(), {100.F, 100.F, 101.F, 101.F});
    out.cls.insert(out.cls.end(), p.begin(), p.end());
    out.obj.push_back(0.5F);
  }
  return out;
}

TEST(SimOtaTest, TheOneAnchorInsideTheBoxThatPredictsItIsAssigned) {
  const auto anchors = grid4();
  // Only the cell centred at (12, 12) lies inside [4, 20] (strictly); every cell is within 2.5 strides
  // of the centre, so all 16 are candidates, but only (12, 12) is in both regions and predicts the box.
  const std::vector<GtBox> gts{{4.F, 4.F, 20.F, 20.F, 0}};
  Preds p = far_predictions(anchors.size(), {0.5F, 0.5F});
  const int target = 1 * 4 + 1;
  std::copy_n(std::vector<float>{4.F, 4.F, 20.F, 20.F}.begin(), 4, p.boxes.begin() + target * 4);
  SimOtaInput in{anchors, gts, p.boxes.data(), p.cls.data(), p.obj.data(), 2, 2.5F};
  const Assignment a = simota_assign(in);
  ASSERT_EQ(a.anchor.size(), 1U);  // the IoUs sum to 1: dynamic k = 1
  EXPECT_EQ(a.anchor[0], target);
  EXPECT_EQ(a.gt[0], 0);
  EXPECT_FLOAT_EQ(a.iou[0], 1.F);
}

TEST(SimOtaTest, VarifocalCostWithoutObjectnessPrefersTheAnchorThatScoresTheClass) {
  const auto anchors = grid4();
  // Anchors 5 and 10 both lie inside the box and predict its top half (IoU 0.5 each): the IoUs sum to 1, so
  // k = 1, and the class term decides. PicoDet has no objectness: obj_prob is null.
  const std::vector<GtBox> gts{{4.F, 4.F, 28.F, 28.F, 0}};
  Preds p = far_predictions(anchors.size(), {0.1F});
  for (int a : {5, 10})
    std::copy_n(std::vector<float>{4.F, 4.F, 28.F, 16.F}.begin(), 4, p.boxes.begin() + a * 4);
  p.cls[10] = 0.8F;
  SimOtaInput in{anchors, gts, p.boxes.data(), p.cls.data(), nullptr, 1, 2.5F};
  in.cls_cost = ClsCost::kVarifocal;
  in.iou_weight = 6.F;
  const Assignment a = simota_assign(in);
  ASSERT_EQ(a.anchor.size(), 1U);
  EXPECT_EQ(a.anchor[0], 10);
  EXPECT_FLOAT_EQ(a.iou[0], 0.5F);
  p.cls[10] = 0.1F;
  p.cls[5] = 0.8F;
  const Assignment b = simota_assign(in);
  ASSERT_EQ(b.anchor.size(), 1U);
  EXPECT_EQ(b.anchor[0], 5);
}

TEST(SimOtaTest, DynamicKFollowsTheSumOfTheBestIous) {
  const auto anchors = grid4();
  const std::vector<GtBox> gts{{0.F, 0.F, 32.F, 32.F, 1}};
  Preds p = far_predictions(anchors.size(), {0.1F, 0.9F});
  // Three anchors predict the whole box exactly: the top IoUs sum to 3, so k = 3 and those three win.
  for (int a : {0, 5, 10})
    std::copy_n(std::vector<float>{0.F, 0.F, 32.F, 32.F}.begin(), 4, p.boxes.begin() + a * 4);
  SimOtaInput in{anchors, gts, p.boxes.data(), p.cls.data(), p.obj.data(), 2, 2.5F};
  const Assignment a = simota_assign(in);
  EXPECT_EQ(a.anchor, (std::vector<int>{0, 5, 10}));
  EXPECT_EQ(a.gt, (std::vector<int>{0, 0, 0}));
}

TEST(SimOtaTest, AnAnchorWantedByTwoBoxesGoesToTheCheaperOne) {
  const auto anchors = grid4();
  // Two identical boxes of different classes; the predictions favour class 1, so the box of class 1 is
  // cheaper for every anchor and takes the shared one.
  const std::vector<GtBox> gts{{4.F, 4.F, 20.F, 20.F, 0}, {4.F, 4.F, 20.F, 20.F, 1}};
  Preds p = far_predictions(anchors.size(), {0.05F, 0.95F});
  std::copy_n(std::vector<float>{4.F, 4.F, 20.F, 20.F}.begin(), 4, p.boxes.begin() + 5 * 4);
  SimOtaInput in{anchors, gts, p.boxes.data(), p.cls.data(), p.obj.data(), 2, 2.5F};
  const Assignment a = simota_assign(in);
  ASSERT_EQ(a.anchor.size(), 1U);
  EXPECT_EQ(a.anchor[0], 5);
  EXPECT_EQ(a.gt[0], 1);
}

TEST(SimOtaTest, NoBoxesNoForeground) {
  const auto anchors = grid4();
  Preds p = far_predictions(anchors.size(), {0.5F});
  SimOtaInput in{anchors, {}, p.boxes.data(), p.cls.data(), p.obj.data(), 1, 2.5F};
  EXPECT_TRUE(simota_assign(in).anchor.empty());
}

TEST(SimOtaTest, BoxIou) {
  const float a[4] = {0.F, 0.F, 10.F, 10.F};
  EXPECT_FLOAT_EQ(box_iou(a, GtBox{5.F, 0.F, 15.F, 10.F, 0}), 50.F / 150.F);
  EXPECT_FLOAT_EQ(box_iou(a, GtBox{20.F, 20.F, 30.F, 30.F, 0}), 0.F);
}

}  // namespace
}  // namespace visearch::train
