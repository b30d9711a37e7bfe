// The libtorch interpreter of the shipped YOLOX-Nano graph computes what ONNX Runtime computes.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "families/all_families.h"
#include "io/image_decode.h"
#include "model/detector.h"
#include "model/model_repository.h"
#include "model/preprocess.h"
#include "train/graph_net.h"
#include "train/head.h"
#include "train/onnx_graph.h"
#include "train_fixture.h"

namespace visearch::train {
namespace {

namespace fs = std::filesystem;

struct Base {
  ModelSpec spec;
  std::string weights;
};

Base yolox_nano() {
  const ModelRepository repo = ModelRepository::with_defaults({});
  auto spec = repo.find_spec("yolox_nano");
  EXPECT_TRUE(spec) << spec.error().message;
  auto weights = repo.resolve(spec->weights);
  EXPECT_TRUE(weights) << "the tests need ../shared/models/yolox_nano: " << weights.error().message;
  return {*spec, weights ? weights->path : ""};
}

GraphLayout layout_of(const ModelSpec& spec) {
  return {spec.train.at("backbone_outputs").get<std::vector<std::string>>(),
          spec.train.at("neck_outputs").get<std::vector<std::string>>()};
}

std::vector<float> bus_tensor(const PreprocessSpec& pre) {
  return preprocess_image(test::sample_image("bus.jpg"), pre).tensor;
}

TEST(GraphNetTest, ForwardEqualsOnnxRuntimeOnTheBaseModel) {
  const Base base = yolox_nano();
  ASSERT_FALSE(base.weights.empty());
  auto graph = OnnxGraph::load(base.weights);
  ASSERT_TRUE(graph) << graph.error().message;
  auto net = GraphNet::build(*graph, layout_of(base.spec));
  ASSERT_TRUE(net) << net.error().message;
  std::vector<float> tensor = bus_tensor(base.spec.preprocess);
  const Size in = base.spec.preprocess.size;
  const at::Tensor input = at::from_blob(tensor.data(), {1, 3, in.height, in.width}, at::kFloat);
  auto out = net->run(input, {graph->output_name(0)});
  ASSERT_TRUE(out) << out.error().message;

  FamilyRegistry families;
  register_all_families(families);
  const ModelRepository repo = ModelRepository::with_defaults({});
  auto det = Detector::load(base.spec, repo, families, RuntimeOptions{});
  ASSERT_TRUE(det) << det.error().message;
  auto ort = (*det)->forward(tensor);
  ASSERT_TRUE(ort) << ort.error().message;
  const at::Tensor mine = (*out)[0].contiguous();
  ASSERT_EQ(static_cast<std::size_t>(mine.numel()), (*ort)[0].data.size());
  const at::Tensor theirs = at::from_blob((*ort)[0].data.data(), mine.sizes(), at::kFloat);
  EXPECT_LE((mine - theirs).abs().max().item<double>(), 1e-3);
}

TEST(GraphNetTest, SectionsFollowTheDeclaredLayoutAndFreezingStopsGradients) {
  const Base base = yolox_nano();
  ASSERT_FALSE(base.weights.empty());
  auto graph = OnnxGraph::load(base.weights);
  ASSERT_TRUE(graph);
  auto net = GraphNet::build(*graph, layout_of(base.spec));
  ASSERT_TRUE(net) << net.error().message;
  EXPECT_EQ(net->section_of_parameter(net->stem_weight()), Section::kBackbone);
  EXPECT_EQ(net->section_of_parameter("head.cls_preds.0.weight"), Section::kHead);
  int counts[3] = {0, 0, 0};
  for (const auto& [name, t] : net->parameters()) ++counts[static_cast<int>(net->section_of_parameter(name))];
  EXPECT_GT(counts[0], 0);
  EXPECT_GT(counts[1], 0);
  EXPECT_GT(counts[2], 0);
  net->freeze_below(Section::kHead);
  for (const auto& [name, t] : net->parameters()) {
    EXPECT_EQ(t.requires_grad(), net->section_of_parameter(name) == Section::kHead) << name;
  }
}

TEST(GraphNetTest, AnUnknownLayoutTensorIsAClearError) {
  const Base base = yolox_nano();
  ASSERT_FALSE(base.weights.empty());
  auto graph = OnnxGraph::load(base.weights);
  ASSERT_TRUE(graph);
  auto net = GraphNet::build(*graph, GraphLayout{{"no_such_tensor"}, {}});
  ASSERT_FALSE(net);
  EXPECT_NE(net.error().message.find("no_such_tensor"), std::string::npos);
}

// PicoDet-S: a PaddlePaddle export (conv biases in Constant nodes, channel shuffles, Split into scores and
// box distributions); all eight outputs as ONNX Runtime computes them.
TEST(GraphNetTest, PicodetForwardEqualsOnnxRuntime) {
  const ModelRepository repo = ModelRepository::with_defaults({});
  auto spec = repo.find_spec("picodet_s_416");
  ASSERT_TRUE(spec) << spec.error().message;
  auto weights = repo.resolve(spec->weights);
  ASSERT_TRUE(weights) << weights.error().message;
  auto graph = OnnxGraph::load(weights->path);
  ASSERT_TRUE(graph) << graph.error().message;
  auto net = GraphNet::build(*graph, layout_of(*spec));
  ASSERT_TRUE(net) << net.error().message;
  auto head = make_head(*spec, *net);
  ASSERT_TRUE(head) << head.error().message;
  EXPECT_EQ((*head)->outputs().size(), 4U);
  std::vector<float> tensor = bus_tensor(spec->preprocess);
  const at::Tensor input = at::from_blob(tensor.data(), {1, 3, 416, 416}, at::kFloat);
  std::vector<std::string> names;
  for (int i = 0; !graph->output_name(i).empty(); ++i) names.push_back(graph->output_name(i));
  auto out = net->run(input, names);
  ASSERT_TRUE(out) << out.error().message;

  FamilyRegistry families;
  register_all_families(families);
  auto det = Detector::load(*spec, repo, families, RuntimeOptions{});
  ASSERT_TRUE(det) << det.error().message;
  auto ort = (*det)->forward(tensor);
  ASSERT_TRUE(ort) << ort.error().message;
  ASSERT_EQ(ort->size(), names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto it =
        std::find_if(ort->begin(), ort->end(), [&](const Tensor& t) { return t.name == names[i]; });
    ASSERT_NE(it, ort->end()) << names[i];
    const at::Tensor mine = (*out)[i].contiguous();
    ASSERT_EQ(static_cast<std::size_t>(mine.numel()), it->data.size()) << names[i];
    const at::Tensor theirs = at::from_blob(it->data.data(), mine.sizes(), at::kFloat);
    EXPECT_LE((mine - theirs).abs().max().item<double>(), 1e-3) << names[i];
  }
}

TEST(GraphNetTest, AFamilyWithoutTrainingSupportIsRefusedByName) {
  const ModelRepository repo = ModelRepository::with_defaults({});
  auto spec = repo.find_spec("nanodet_m_416");
  ASSERT_TRUE(spec);
  const Base base = yolox_nano();
  auto graph = OnnxGraph::load(base.weights);
  ASSERT_TRUE(graph);
  auto net = GraphNet::build(*graph, layout_of(base.spec));
  ASSERT_TRUE(net);
  auto head = make_head(*spec, *net);
  ASSERT_FALSE(head);
  EXPECT_NE(head.error().message.find("nanodet"), std::string::npos);
}

}  // namespace
}  // namespace visearch::train
