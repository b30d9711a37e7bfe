// PicoDet (GFL-style head): per stride one 1x1 conv whose K + 4 * (reg_max + 1) output channels are the class
// logits (sigmoid in the graph) and, per side, a distribution over reg_max + 1 distance bins (softmax, then
// the expectation times the stride is the distance from the cell centre; the decoder in
// src/families/common/gfl_head). Loss as PicoDet's legacy configuration trains it: SimOTA with a varifocal
// class cost and IoU weight 6; varifocal loss (alpha 0.75, gamma 2) on all anchors with the IoU of the
// assigned box as the class target, normalised by the foreground count; GIoU (weight 2) and distribution
// focal loss (weight 0.25) on foreground anchors, both weighted by the anchor's best class score and
// normalised by the sum of those weights.
#include <onnx/onnx_pb.h>
#include <algorithm>
#include <cmath>
#include <functional>

#include "train/head.h"

namespace visearch::train {
namespace {

struct Level {
  int stride = 0;
  std::string weight;  // initializer names of the prediction conv
  std::string bias;
};

class PicodetHead final : public DetectionHead {
 public:
  PicodetHead(std::vector<Level> levels, std::vector<std::string> outputs, int base_classes, int reg_max)
      : levels_(std::move(levels)),
        outputs_(std::move(outputs)),
        base_classes_(base_classes),
        bins_(reg_max + 1) {}

  [[nodiscard]] const std::vector<std::string>& outputs() const override { return outputs_; }

  [[nodiscard]] std::vector<std::string> class_parameters() const override {
    std::vector<std::string> names;
    for (const Level& l : levels_) {
      names.push_back(l.weight);
      names.push_back(l.bias);
    }
    return names;
  }

  [[nodiscard]] Result<LossParts> loss(const std::vector<at::Tensor>& out,
                                       const std::vector<std::vector<GtBox>>& targets) const override {
    if (out.size() != levels_.size()) return Unexpected{ErrorCode::kInternal, "PicoDet: wrong output count"};
    const std::int64_t batch = out[0].size(0);
    const std::int64_t k = out[0].size(1) - 4 * bins_;
    if (k < 1) return Unexpected{ErrorCode::kInternal, "PicoDet: prediction conv has too few channels"};
    std::vector<at::Tensor> clss;
    std::vector<at::Tensor> regs;
    std::vector<AnchorPoint> anchors;
    std::vector<float> centre_x;
    std::vector<float> centre_y;
    std::vector<float> strides;
    for (std::size_t l = 0; l < levels_.size(); ++l) {
      const at::Tensor rows = out[l].flatten(2).transpose(1, 2);  // B x HW x (K + 4 bins)
      clss.push_back(rows.narrow(2, 0, k));
      regs.push_back(rows.narrow(2, k, 4 * bins_));
      const std::int64_t h = out[l].size(2);
      const std::int64_t w = out[l].size(3);
      const auto s = static_cast<float>(levels_[l].stride);
      for (std::int64_t gy = 0; gy < h; ++gy) {
        for (std::int64_t gx = 0; gx < w; ++gx) {
          const float cx = (static_cast<float>(gx) + 0.5F) * s;
          const float cy = (static_cast<float>(gy) + 0.5F) * s;
          anchors.push_back(AnchorPoint{cx, cy, s});
          centre_x.push_back(cx);
          centre_y.push_back(cy);
          strides.push_back(s);
        }
      }
    }
    const auto num_anchors = static_cast<std::int64_t>(anchors.size());
    const at::Tensor cls = at::cat(clss, 1);                                          // B x A x K (logits)
    const at::Tensor reg = at::cat(regs, 1).reshape({batch, num_anchors, 4, bins_});  // B x A x 4 x bins
    const at::Tensor ax = at::from_blob(centre_x.data(), {num_anchors}, at::kFloat).clone();
    const at::Tensor ay = at::from_blob(centre_y.data(), {num_anchors}, at::kFloat).clone();
    const at::Tensor st = at::from_blob(strides.data(), {num_anchors}, at::kFloat).clone();
    const at::Tensor proj = at::arange(bins_, at::kFloat);
    const at::Tensor dist = at::softmax(reg, 3).matmul(proj) * st.unsqueeze(1);  // B x A x 4, input pixels
    const at::Tensor boxes = at::stack(
        {ax - dist.select(2, 0), ay - dist.select(2, 1), ax + dist.select(2, 2), ay + dist.select(2, 3)}, 2);

    const at::Tensor boxes_d = boxes.detach().contiguous();
    const at::Tensor cls_p = at::sigmoid(cls.detach()).contiguous();
    std::vector<std::int64_t> fg_index;
    std::vector<float> fg_boxes;
    std::vector<float> cls_target(static_cast<std::size_t>(batch * num_anchors * k), 0.F);
    for (std::int64_t b = 0; b < batch; ++b) {
      const auto& gts = targets[static_cast<std::size_t>(b)];
      if (gts.empty()) continue;
      SimOtaInput in;
      in.anchors = anchors;
      in.gts = gts;
      in.pred_boxes = boxes_d[b].data_ptr<float>();
      in.cls_prob = cls_p[b].data_ptr<float>();
      in.num_classes = static_cast<int>(k);
      in.cls_cost = ClsCost::kVarifocal;
      in.iou_weight = 6.F;
      const Assignment asg = simota_assign(in);
      for (std::size_t i = 0; i < asg.anchor.size(); ++i) {
        const std::int64_t flat = b * num_anchors + asg.anchor[i];
        fg_index.push_back(flat);
        const GtBox& g = gts[static_cast<std::size_t>(asg.gt[i])];
        fg_boxes.insert(fg_boxes.end(), {g.x1, g.y1, g.x2, g.y2});
        cls_target[static_cast<std::size_t>(flat * k + g.cls)] = asg.iou[i];
      }
    }
    const auto num_fg = static_cast<std::int64_t>(fg_index.size());
    const at::Tensor target = at::from_blob(cls_target.data(), {batch, num_anchors, k}, at::kFloat).clone();
    // Varifocal: positives weighted by their IoU target, negatives by alpha * p^gamma.
    const at::Tensor p = at::sigmoid(cls.detach());
    const at::Tensor positive = (target > 0).to(at::kFloat);
    const at::Tensor focal = target * positive + 0.75 * at::sigmoid(cls).pow(2.0) * (1 - positive);
    const at::Tensor vfl =
        (at::binary_cross_entropy_with_logits(cls, target, {}, {}, at::Reduction::None) * focal).sum() /
        static_cast<double>(std::max<std::int64_t>(num_fg, 1));
    at::Tensor box_loss = at::zeros({}, at::kFloat);
    at::Tensor dfl_loss = at::zeros({}, at::kFloat);
    if (num_fg > 0) {
      const at::Tensor idx = at::from_blob(fg_index.data(), {num_fg}, at::kLong).clone();
      const at::Tensor pred = boxes.reshape({-1, 4}).index_select(0, idx);
      const at::Tensor gt = at::from_blob(fg_boxes.data(), {num_fg, 4}, at::kFloat).clone();
      const at::Tensor weight = std::get<0>(p.reshape({-1, k}).index_select(0, idx).max(1));  // best score
      const at::Tensor weight_sum = weight.sum().clamp_min(1e-6);
      // GIoU.
      const at::Tensor tl = at::max(pred.narrow(1, 0, 2), gt.narrow(1, 0, 2));
      const at::Tensor br = at::min(pred.narrow(1, 2, 2), gt.narrow(1, 2, 2));
      const at::Tensor wh = (br - tl).clamp_min(0);
      const at::Tensor inter = wh.select(1, 0) * wh.select(1, 1);
      const at::Tensor area_p =
          (pred.select(1, 2) - pred.select(1, 0)) * (pred.select(1, 3) - pred.select(1, 1));
      const at::Tensor area_g = (gt.select(1, 2) - gt.select(1, 0)) * (gt.select(1, 3) - gt.select(1, 1));
      const at::Tensor uni = area_p + area_g - inter + 1e-7;
      const at::Tensor etl = at::min(pred.narrow(1, 0, 2), gt.narrow(1, 0, 2));
      const at::Tensor ebr = at::max(pred.narrow(1, 2, 2), gt.narrow(1, 2, 2));
      const at::Tensor ewh = (ebr - etl).clamp_min(0);
      const at::Tensor enclose = ewh.select(1, 0) * ewh.select(1, 1) + 1e-7;
      const at::Tensor giou = inter / uni - (enclose - uni) / enclose;
      box_loss = 2.0 * (weight * (1 - giou)).sum() / weight_sum;
      // Distribution focal loss: the target distance (in strides) spread over its two neighbouring bins.
      const at::Tensor fax = ax.repeat({batch}).index_select(0, idx);
      const at::Tensor fay = ay.repeat({batch}).index_select(0, idx);
      const at::Tensor fst = st.repeat({batch}).index_select(0, idx);
      const at::Tensor sides = at::stack({fax - gt.select(1, 0), fay - gt.select(1, 1), gt.select(1, 2) - fax,
                                          gt.select(1, 3) - fay},
                                         1) /
                               fst.unsqueeze(1);
      const at::Tensor t = sides.clamp(0.0, static_cast<double>(bins_ - 1) - 0.01);
      const at::Tensor left = t.floor().to(at::kLong);
      const at::Tensor right = left + 1;
      const at::Tensor w_left = right.to(at::kFloat) - t;
      const at::Tensor w_right = t - left.to(at::kFloat);
      const at::Tensor logp = at::log_softmax(reg.reshape({-1, 4, bins_}).index_select(0, idx), 2);
      const at::Tensor dfl = -(logp.gather(2, left.unsqueeze(2)).squeeze(2) * w_left +
                               logp.gather(2, right.unsqueeze(2)).squeeze(2) * w_right);  // n x 4
      dfl_loss = 0.25 * (weight * dfl.mean(1)).sum() / weight_sum;
    }
    LossParts parts;
    parts.total = vfl + box_loss + dfl_loss;
    parts.box = box_loss.item<double>();
    parts.cls = vfl.item<double>();
    parts.dfl = dfl_loss.item<double>();
    parts.foreground = num_fg;
    return parts;
  }

  [[nodiscard]] Status resize_classes(GraphNet& net, const std::vector<int>& base_row,
                                      std::uint64_t seed) const override {
    const auto k = static_cast<std::int64_t>(base_row.size());
    const std::int64_t box_rows = 4 * bins_;
    at::Generator gen = at::detail::createCPUGenerator(seed);
    auto& params = net.mutable_parameters();
    for (const Level& l : levels_) {
      auto w_it = params.find(l.weight);
      auto b_it = params.find(l.bias);
      if (w_it == params.end() || b_it == params.end()) {
        return Unexpected{ErrorCode::kInvalidSpec,
                          "PicoDet train layout: no parameters " + l.weight + "/" + l.bias};
      }
      const at::Tensor old_w = w_it->second.detach();
      const at::Tensor old_b = b_it->second.detach();
      const std::int64_t old_classes = old_w.size(0) - box_rows;
      if (old_classes != base_classes_) {
        return Unexpected{ErrorCode::kInvalidSpec, "PicoDet: " + l.weight + " has " +
                                                       std::to_string(old_w.size(0)) + " rows, expected " +
                                                       std::to_string(base_classes_ + box_rows)};
      }
      auto [w, bias] = init_class_rows(old_w, old_b, base_row, old_classes, k + box_rows, gen);
      w.narrow(0, k, box_rows).copy_(old_w.narrow(0, old_classes, box_rows));
      bias.narrow(0, k, box_rows).copy_(old_b.narrow(0, old_classes, box_rows));
      w_it->second = w.set_requires_grad(true);
      b_it->second = bias.set_requires_grad(true);
    }
    return Ok{};
  }

  [[nodiscard]] Status patch_graph(OnnxGraph& graph, int num_classes, int /*width*/,
                                   int /*height*/) const override {
    const std::int64_t box_rows = 4 * bins_;
    const auto n = static_cast<int>(levels_.size());
    onnx::GraphProto* g = graph.mutable_proto().mutable_graph();
    // Split [K_base, 4 bins] -> [K, 4 bins] after each prediction conv.
    int splits = 0;
    for (onnx::NodeProto& node : *g->mutable_node()) {
      if (node.op_type() != "Split") continue;
      for (onnx::AttributeProto& a : *node.mutable_attribute()) {
        if (a.name() == "split" && a.ints_size() == 2 && a.ints(0) == base_classes_ &&
            a.ints(1) == box_rows) {
          a.set_ints(0, num_classes);
          ++splits;
        }
      }
    }
    // Reshape [1, K_base, -1] -> [1, K, -1] for the score maps.
    const int reshapes = patch_reshape_dim1(graph, base_classes_, num_classes, 3);
    // Declared score outputs [1, N, K_base] -> [1, N, K].
    std::vector<std::string> score_outputs;
    for (const onnx::ValueInfoProto& out : g->output()) {
      const auto& shape = out.type().tensor_type().shape();
      if (shape.dim_size() == 3 && shape.dim(2).dim_value() == base_classes_)
        score_outputs.push_back(out.name());
    }
    if (splits != n || reshapes < 1 || static_cast<int>(score_outputs.size()) != n) {
      return Unexpected{ErrorCode::kInvalidSpec,
                        "PicoDet export: expected " + std::to_string(n) + " Split [" +
                            std::to_string(base_classes_) + "," + std::to_string(box_rows) +
                            "] nodes and score outputs [1,N," + std::to_string(base_classes_) + "], found " +
                            std::to_string(splits) + " and " + std::to_string(score_outputs.size())};
    }
    g->clear_value_info();  // intermediate shapes still say K_base
    for (const std::string& name : score_outputs) {
      if (auto st = graph.set_output_dim(name, 2, num_classes); !st) return st;
    }
    return Ok{};
  }

  [[nodiscard]] nlohmann::json decoder_fields(const OnnxGraph& base_graph) const override {
    std::vector<std::pair<std::int64_t, std::string>> maps;  // (cells, name)
    for (const onnx::ValueInfoProto& out : base_graph.proto().graph().output()) {
      const auto& shape = out.type().tensor_type().shape();
      if (shape.dim_size() == 3 && shape.dim(2).dim_value() == base_classes_)
        maps.emplace_back(shape.dim(1).dim_value(), out.name());
    }
    std::sort(maps.begin(), maps.end(), std::greater<>());  // most cells = smallest stride first
    nlohmann::json names = nlohmann::json::array();
    for (const auto& m : maps) names.push_back(m.second);
    if (names.size() != levels_.size()) return nlohmann::json::object();
    return {{"score_outputs", names}};
  }

 private:
  std::vector<Level> levels_;
  std::vector<std::string> outputs_;
  int base_classes_ = 0;
  std::int64_t bins_ = 8;
};

}  // namespace

Result<std::unique_ptr<DetectionHead>> make_picodet_head(const ModelSpec& base, const GraphNet& net) {
  const nlohmann::json& t = base.train;
  if (!t.contains("levels") || !t["levels"].is_array() || t["levels"].empty()) {
    return Unexpected{ErrorCode::kInvalidSpec,
                      base.source_path + ": no train.levels (this model cannot be trained)"};
  }
  const int reg_max = base.decoder.value("reg_max", 7);
  std::vector<Level> levels;
  std::vector<std::string> outputs;
  try {
    for (const auto& l : t["levels"]) {
      Level level{l.at("stride").get<int>(), l.at("pred").get<std::string>(), {}};
      for (const GraphNode& node : net.nodes()) {
        if (node.op == "Conv" && node.inputs.size() > 2 && node.inputs[1] == level.weight) {
          level.bias = node.inputs[2];
          outputs.push_back(node.outputs[0]);
        }
      }
      if (level.bias.empty()) {
        return Unexpected{ErrorCode::kInvalidSpec, base.source_path + ": train.levels names '" +
                                                       level.weight + "', not a Conv weight with a bias"};
      }
      levels.push_back(std::move(level));
    }
  } catch (const nlohmann::json::exception& e) {
    return Unexpected{ErrorCode::kInvalidSpec, base.source_path + ": train.levels: " + e.what()};
  }
  return std::unique_ptr<DetectionHead>(std::make_unique<PicodetHead>(
      std::move(levels), std::move(outputs), static_cast<int>(base.labels.size()), reg_max));
}

}  // namespace visearch::train
