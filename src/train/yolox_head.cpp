// YOLOX: decoupled head per stride with reg (4), obj (1) and cls (K) 1x1 convs; boxes are
// cx = (reg0 + gx) * s, cy = (reg1 + gy) * s, w = exp(reg2) * s, h = exp(reg3) * s (the decoder in
// src/families/yolox). Loss as in the YOLOX paper: SimOTA assignment, 5 * (1 - IoU^2) for boxes, BCE for
// objectness over all anchors and for classes on foreground anchors with IoU-aware targets, all divided by
// the number of foreground anchors.
#include <onnx/onnx_pb.h>
#include <cmath>
#include <mutex>

#include "train/head.h"

namespace visearch::train {
namespace {

struct Level {
  int stride = 0;
  std::string reg;  // conv weight prefixes, e.g. head.reg_preds.0
  std::string obj;
  std::string cls;
};

class YoloxHead final : public DetectionHead {
 public:
  YoloxHead(std::vector<Level> levels, std::vector<std::string> outputs, int base_classes)
      : levels_(std::move(levels)), outputs_(std::move(outputs)), base_classes_(base_classes) {}

  [[nodiscard]] const std::vector<std::string>& outputs() const override { return outputs_; }

  [[nodiscard]] std::vector<std::string> class_parameters() const override {
    std::vector<std::string> names;
    for (const Level& l : levels_) {
      names.push_back(l.cls + ".weight");
      names.push_back(l.cls + ".bias");
    }
    return names;
  }

  [[nodiscard]] Result<LossParts> loss(const std::vector<at::Tensor>& out,
                                       const std::vector<std::vector<GtBox>>& targets) const override {
    if (out.size() != levels_.size() * 3)
      return Unexpected{ErrorCode::kInternal, "YOLOX: wrong output count"};
    const std::int64_t batch = out[0].size(0);
    const std::int64_t k = out[2].size(1);
    std::vector<at::Tensor> regs;
    std::vector<at::Tensor> objs;
    std::vector<at::Tensor> clss;
    std::vector<AnchorPoint> anchors;
    std::vector<float> grid_x;
    std::vector<float> grid_y;
    std::vector<float> strides;
    for (std::size_t l = 0; l < levels_.size(); ++l) {
      const at::Tensor& reg = out[l * 3];
      const std::int64_t h = reg.size(2);
      const std::int64_t w = reg.size(3);
      regs.push_back(reg.flatten(2).transpose(1, 2));             // B x HW x 4
      objs.push_back(out[l * 3 + 1].flatten(2).transpose(1, 2));  // B x HW x 1
      clss.push_back(out[l * 3 + 2].flatten(2).transpose(1, 2));  // B x HW x K
      const auto s = static_cast<float>(levels_[l].stride);
      for (std::int64_t gy = 0; gy < h; ++gy) {
        for (std::int64_t gx = 0; gx < w; ++gx) {
          anchors.push_back(
              AnchorPoint{(static_cast<float>(gx) + 0.5F) * s, (static_cast<float>(gy) + 0.5F) * s, s});
          grid_x.push_back(static_cast<float>(gx));
          grid_y.push_back(static_cast<float>(gy));
          strides.push_back(s);
        }
      }
    }
    const auto num_anchors = static_cast<std::int64_t>(anchors.size());
    const at::Tensor reg = at::cat(regs, 1);
    const at::Tensor obj = at::cat(objs, 1).squeeze(2);  // B x A
    const at::Tensor cls = at::cat(clss, 1);             // B x A x K
    const at::Tensor gx = at::from_blob(grid_x.data(), {num_anchors}, at::kFloat).clone();
    const at::Tensor gy = at::from_blob(grid_y.data(), {num_anchors}, at::kFloat).clone();
    const at::Tensor st = at::from_blob(strides.data(), {num_anchors}, at::kFloat).clone();
    const at::Tensor cx = (reg.select(2, 0) + gx) * st;
    const at::Tensor cy = (reg.select(2, 1) + gy) * st;
    const at::Tensor hw = at::exp(reg.select(2, 2).clamp_max(10.0)) * st / 2;
    const at::Tensor hh = at::exp(reg.select(2, 3).clamp_max(10.0)) * st / 2;
    const at::Tensor boxes = at::stack({cx - hw, cy - hh, cx + hw, cy + hh}, 2);  // B x A x 4

    const at::Tensor boxes_d = boxes.detach().contiguous();
    const at::Tensor cls_p = at::sigmoid(cls.detach()).contiguous();
    const at::Tensor obj_p = at::sigmoid(obj.detach()).contiguous();
    std::vector<std::int64_t> fg_index;
    std::vector<float> fg_boxes;
    std::vector<float> fg_cls_target;
    std::vector<float> obj_target(static_cast<std::size_t>(batch * num_anchors), 0.F);
    for (std::int64_t b = 0; b < batch; ++b) {
      const auto& gts = targets[static_cast<std::size_t>(b)];
      if (gts.empty()) continue;
      SimOtaInput in;
      in.anchors = anchors;
      in.gts = gts;
      in.pred_boxes = boxes_d[b].data_ptr<float>();
      in.cls_prob = cls_p[b].data_ptr<float>();
      in.obj_prob = obj_p[b].data_ptr<float>();
      in.num_classes = static_cast<int>(k);
      const Assignment asg = simota_assign(in);
      for (std::size_t i = 0; i < asg.anchor.size(); ++i) {
        const std::int64_t flat = b * num_anchors + asg.anchor[i];
        fg_index.push_back(flat);
        obj_target[static_cast<std::size_t>(flat)] = 1.F;
        const GtBox& g = gts[static_cast<std::size_t>(asg.gt[i])];
        fg_boxes.insert(fg_boxes.end(), {g.x1, g.y1, g.x2, g.y2});
        std::vector<float> row(static_cast<std::size_t>(k), 0.F);
        row[static_cast<std::size_t>(g.cls)] = asg.iou[i];
        fg_cls_target.insert(fg_cls_target.end(), row.begin(), row.end());
      }
    }
    const auto num_fg = static_cast<std::int64_t>(fg_index.size());
    const double norm = static_cast<double>(std::max<std::int64_t>(num_fg, 1));
    const at::Tensor obj_t = at::from_blob(obj_target.data(), {batch, num_anchors}, at::kFloat).clone();
    const at::Tensor obj_loss =
        at::binary_cross_entropy_with_logits(obj, obj_t, {}, {}, at::Reduction::Sum) / norm;
    at::Tensor box_loss = at::zeros({}, at::kFloat);
    at::Tensor cls_loss = at::zeros({}, at::kFloat);
    if (num_fg > 0) {
      const at::Tensor idx = at::from_blob(fg_index.data(), {num_fg}, at::kLong).clone();
      const at::Tensor pred = boxes.reshape({-1, 4}).index_select(0, idx);
      const at::Tensor gt = at::from_blob(fg_boxes.data(), {num_fg, 4}, at::kFloat).clone();
      const at::Tensor tl = at::max(pred.narrow(1, 0, 2), gt.narrow(1, 0, 2));
      const at::Tensor br = at::min(pred.narrow(1, 2, 2), gt.narrow(1, 2, 2));
      const at::Tensor wh = (br - tl).clamp_min(0);
      const at::Tensor inter = wh.select(1, 0) * wh.select(1, 1);
      const at::Tensor area_p =
          (pred.select(1, 2) - pred.select(1, 0)) * (pred.select(1, 3) - pred.select(1, 1));
      const at::Tensor area_g = (gt.select(1, 2) - gt.select(1, 0)) * (gt.select(1, 3) - gt.select(1, 1));
      const at::Tensor iou = inter / (area_p + area_g - inter + 1e-16);
      box_loss = (1 - iou * iou).sum() / norm;
      const at::Tensor cls_t = at::from_blob(fg_cls_target.data(), {num_fg, k}, at::kFloat).clone();
      const at::Tensor cls_fg = cls.reshape({-1, k}).index_select(0, idx);
      cls_loss = at::binary_cross_entropy_with_logits(cls_fg, cls_t, {}, {}, at::Reduction::Sum) / norm;
    }
    LossParts parts;
    parts.total = 5.0 * box_loss + obj_loss + cls_loss;
    parts.box = box_loss.item<double>();
    parts.obj = obj_loss.item<double>();
    parts.cls = cls_loss.item<double>();
    parts.foreground = num_fg;
    return parts;
  }

  [[nodiscard]] Status resize_classes(GraphNet& net, const std::vector<int>& base_row,
                                      std::uint64_t seed) const override {
    const auto k = static_cast<std::int64_t>(base_row.size());
    at::Generator gen = at::detail::createCPUGenerator(seed);
    auto& params = net.mutable_parameters();
    for (const Level& l : levels_) {
      auto w_it = params.find(l.cls + ".weight");
      auto b_it = params.find(l.cls + ".bias");
      if (w_it == params.end() || b_it == params.end()) {
        return Unexpected{ErrorCode::kInvalidSpec,
                          "YOLOX train layout: no parameters " + l.cls + ".weight/.bias"};
      }
      const at::Tensor old_w = w_it->second.detach();
      auto [w, bias] = init_class_rows(old_w, b_it->second.detach(), base_row, old_w.size(0), k, gen);
      w_it->second = w.set_requires_grad(true);
      b_it->second = bias.set_requires_grad(true);
    }
    return Ok{};
  }

  [[nodiscard]] Status patch_graph(OnnxGraph& graph, int num_classes, int width, int height) const override {
    const std::int64_t old_rows = 5 + base_classes_;
    const std::int64_t new_rows = 5 + num_classes;
    const int patched = patch_reshape_dim1(graph, old_rows, new_rows, 0);
    if (patched != static_cast<int>(levels_.size())) {
      return Unexpected{ErrorCode::kInvalidSpec, "YOLOX export: expected " + std::to_string(levels_.size()) +
                                                     " Reshape constants [1," + std::to_string(old_rows) +
                                                     ",-1], found " + std::to_string(patched)};
    }
    graph.mutable_proto().mutable_graph()->clear_value_info();  // intermediate shapes still say 5 + 80
    std::int64_t anchors = 0;
    for (const Level& l : levels_)
      anchors += static_cast<std::int64_t>(width / l.stride) * (height / l.stride);
    if (auto st = graph.set_output_dim(graph.output_name(0), 1, anchors); !st) return st;
    return graph.set_output_dim(graph.output_name(0), 2, new_rows);
  }

 private:
  std::vector<Level> levels_;
  std::vector<std::string> outputs_;
  int base_classes_ = 0;
};

}  // namespace

Result<std::unique_ptr<DetectionHead>> make_yolox_head(const ModelSpec& base, const GraphNet& net) {
  const nlohmann::json& t = base.train;
  if (!t.contains("levels") || !t["levels"].is_array() || t["levels"].empty()) {
    return Unexpected{ErrorCode::kInvalidSpec,
                      base.source_path + ": no train.levels (this model cannot be trained)"};
  }
  std::vector<Level> levels;
  std::vector<std::string> outputs;
  try {
    for (const auto& l : t["levels"]) {
      Level level{l.at("stride").get<int>(), l.at("reg").get<std::string>(), l.at("obj").get<std::string>(),
                  l.at("cls").get<std::string>()};
      for (const std::string* prefix : {&level.reg, &level.obj, &level.cls}) {
        auto out = net.conv_output(*prefix + ".weight");
        if (!out) return out.error();
        outputs.push_back(*out);
      }
      levels.push_back(std::move(level));
    }
  } catch (const nlohmann::json::exception& e) {
    return Unexpected{ErrorCode::kInvalidSpec, base.source_path + ": train.levels: " + e.what()};
  }
  return std::unique_ptr<DetectionHead>(std::make_unique<YoloxHead>(std::move(levels), std::move(outputs),
                                                                    static_cast<int>(base.labels.size())));
}

}  // namespace visearch::train
