// run_training() end to end on small cuts of the aquarium data set: overfitting one image, resuming an
// interrupted run exactly, the exported graph against the libtorch forward, and bad inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>

#include "dataset/dataset.h"
#include "families/all_families.h"
#include "io/image_decode.h"
#include "model/detector.h"
#include "model/model_repository.h"
#include "model/preprocess.h"
#include "support/temp_files.h"
#include "train/graph_net.h"
#include "train/onnx_graph.h"
#include "train/trainer.h"
#include "train_fixture.h"

namespace visearch::train {
namespace {

namespace fs = std::filesystem;
using visearch::test::TempDir;

TrainOptions small_options(const test::MiniDataset& data, const fs::path& out) {
  TrainOptions o;
  o.data = data.path;
  o.classes = {data.first_class};
  o.img_size = 192;
  o.batch = 2;
  o.epochs = 3;
  o.out = out.string();
  o.name = "mini";
  o.seed = 5;
  o.threads = 1;
  o.reference_images = 1;
  return o;
}

TEST(TrainerTest, OverfitsOneImage) {
  TempDir tmp;
  const auto data = test::make_mini_aquarium(tmp.path() / "data", 1, 0, 2, 3);  // one penguin image
  TrainOptions o = small_options(data, tmp.path() / "out");
  o.split_train = "train";
  o.split_val = "train";  // validate on the training image itself
  o.img_size = 256;
  o.batch = 1;
  o.epochs = 60;
  o.lr = 0.02;
  o.first_trained = Section::kBackbone;
  o.augment.enabled = false;
  o.threads = 0;
  auto report = run_training(o);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_TRUE(report->finished);
  const double ap50 = report->metrics["trained"]["stats"]["AP50"].get<double>();
  EXPECT_GE(ap50, 0.9) << report->metrics.dump();
}

TEST(TrainerTest, ResumeContinuesExactlyWhereAnInterruptedRunStopped) {
  TempDir tmp;
  const auto data = test::make_mini_aquarium(tmp.path() / "data", 4, 2, 0, 6);
  std::vector<double> uninterrupted;
  {
    TrainCallbacks cb;
    cb.epoch = [&](const EpochRecord& r) { uninterrupted.push_back(r.loss); };
    auto report = run_training(small_options(data, tmp.path() / "a"), cb);
    ASSERT_TRUE(report) << report.error().message;
    ASSERT_TRUE(report->finished);
  }
  ASSERT_EQ(uninterrupted.size(), 3U);

  std::atomic<bool> stop{false};
  std::vector<double> resumed;
  TrainCallbacks cb;
  cb.epoch = [&](const EpochRecord& r) {
    resumed.push_back(r.loss);
    if (r.epoch == 1) stop = true;  // as Ctrl-C after the first epoch
  };
  TrainOptions o = small_options(data, tmp.path() / "b");
  o.stop = &stop;
  auto first = run_training(o, cb);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_FALSE(first->finished);
  EXPECT_EQ(first->stop_reason, "interrupted");
  // Nothing that looks like a finished model: no OUT/NAME, and no spec a --model-dir scan would list.
  EXPECT_FALSE(fs::exists(tmp.path() / "b" / "mini"));
  const ModelRepository repo = ModelRepository::with_defaults({(tmp.path() / "b").string()});
  for (const ModelSpec& s : repo.list_specs()) EXPECT_NE(s.name, "mini");
  ASSERT_TRUE(fs::exists(fs::path(first->partial_dir) / "checkpoint" / "state.json"));

  TrainOptions again;
  again.resume = first->partial_dir;
  again.threads = 1;
  auto second = run_training(again, cb);
  ASSERT_TRUE(second) << second.error().message;
  ASSERT_TRUE(second->finished);
  ASSERT_EQ(resumed.size(), 3U);
  // Equal up to float rounding (reductions are not bit-reproducible between processes).
  for (std::size_t i = 0; i < 3; ++i) EXPECT_NEAR(resumed[i], uninterrupted[i], 1e-4 * uninterrupted[i]) << i;
  EXPECT_TRUE(fs::exists(tmp.path() / "b" / "mini" / "mini.onnx"));
  EXPECT_FALSE(fs::exists(first->partial_dir));
}

TEST(TrainerTest, ExportedModelRunsInOnnxRuntimeAsInLibtorchAndWritesAFullFolder) {
  TempDir tmp;
  const auto data = test::make_mini_aquarium(tmp.path() / "data", 4, 2, 0, 6);
  TrainOptions o = small_options(data, tmp.path() / "out");
  o.epochs = 1;
  auto report = run_training(o);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_TRUE(report->finished);
  const fs::path dir = report->model_dir;
  for (const char* f :
       {"mini.onnx", "mini.json", "metrics.json", "train_log.jsonl", "reference_detections.json"}) {
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  }
  EXPECT_FALSE(fs::exists(dir / "checkpoint"));

  auto spec = load_model_spec_file((dir / "mini.json").string());
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->labels, std::vector<std::string>{"fish"});
  EXPECT_EQ(spec->preprocess.size, (Size{192, 192}));
  auto base = ModelRepository::with_defaults({}).find_spec("yolox_nano");
  ASSERT_TRUE(base);
  auto graph = OnnxGraph::load((dir / "mini.onnx").string());
  ASSERT_TRUE(graph) << graph.error().message;
  auto net =
      GraphNet::build(*graph, GraphLayout{base->train["backbone_outputs"].get<std::vector<std::string>>(),
                                          base->train["neck_outputs"].get<std::vector<std::string>>()});
  ASSERT_TRUE(net) << net.error().message;

  const Image bus = test::sample_image("bus.jpg");
  ASSERT_FALSE(bus.empty());
  std::vector<float> tensor = preprocess_image(bus, spec->preprocess).tensor;
  const at::Tensor input = at::from_blob(tensor.data(), {1, 3, 192, 192}, at::kFloat);
  auto mine = net->run(input, {graph->output_name(0)});
  ASSERT_TRUE(mine) << mine.error().message;
  EXPECT_EQ((*mine)[0].sizes(), (at::IntArrayRef{1, 756, 6}));  // (24^2 + 12^2 + 6^2) anchors, 5 + 1 class

  FamilyRegistry families;
  register_all_families(families);
  auto det = Detector::load(*spec, ModelRepository::with_defaults({}), families, RuntimeOptions{});
  ASSERT_TRUE(det) << det.error().message;
  auto ort = (*det)->forward(tensor);
  ASSERT_TRUE(ort) << ort.error().message;
  const at::Tensor theirs = at::from_blob((*ort)[0].data.data(), (*mine)[0].sizes(), at::kFloat);
  EXPECT_LE(((*mine)[0] - theirs).abs().max().item<double>(), 1e-3);
  auto detected = (*det)->detect(bus, DetectOptions{});
  ASSERT_TRUE(detected) << detected.error().message;  // the normal YOLOX decoder reads the K-class output
}

// PicoDet-S (the second trainable family): the exported K-class graph gives in ONNX Runtime, output by
// output, what the libtorch interpreter gives, and the normal GFL decoder reads it.
TEST(TrainerTest, PicodetExportRunsInOnnxRuntimeAsInLibtorch) {
  TempDir tmp;
  const auto data = test::make_mini_aquarium(tmp.path() / "data", 4, 2, 0, 6);
  TrainOptions o = small_options(data, tmp.path() / "out");
  o.base = "picodet_s_320";
  o.img_size = 0;  // the graph's own size
  o.epochs = 1;
  auto report = run_training(o);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_TRUE(report->finished);
  const fs::path dir = report->model_dir;
  auto spec = load_model_spec_file((dir / "mini.json").string());
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->family, "picodet");
  // The score maps by name, smallest stride first (with 32 classes their shape is the box maps' shape).
  EXPECT_EQ(spec->decoder.value("score_outputs", std::vector<std::string>{}),
            (std::vector<std::string>{"save_infer_model/scale_0.tmp_1", "save_infer_model/scale_1.tmp_1",
                                      "save_infer_model/scale_2.tmp_1", "save_infer_model/scale_3.tmp_1"}));
  EXPECT_EQ(spec->preprocess.size, (Size{320, 320}));
  auto base = ModelRepository::with_defaults({}).find_spec("picodet_s_320");
  ASSERT_TRUE(base);
  auto graph = OnnxGraph::load((dir / "mini.onnx").string());
  ASSERT_TRUE(graph) << graph.error().message;
  auto net =
      GraphNet::build(*graph, GraphLayout{base->train["backbone_outputs"].get<std::vector<std::string>>(),
                                          base->train["neck_outputs"].get<std::vector<std::string>>()});
  ASSERT_TRUE(net) << net.error().message;
  const Image bus = test::sample_image("bus.jpg");
  ASSERT_FALSE(bus.empty());
  std::vector<float> tensor = preprocess_image(bus, spec->preprocess).tensor;
  const at::Tensor input = at::from_blob(tensor.data(), {1, 3, 320, 320}, at::kFloat);
  std::vector<std::string> names;
  for (int i = 0; !graph->output_name(i).empty(); ++i) names.push_back(graph->output_name(i));
  ASSERT_EQ(names.size(), 8U);
  auto mine = net->run(input, names);
  ASSERT_TRUE(mine) << mine.error().message;

  FamilyRegistry families;
  register_all_families(families);
  auto det = Detector::load(*spec, ModelRepository::with_defaults({}), families, RuntimeOptions{});
  ASSERT_TRUE(det) << det.error().message;
  auto ort = (*det)->forward(tensor);
  ASSERT_TRUE(ort) << ort.error().message;
  int score_maps = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const at::Tensor m = (*mine)[i].contiguous();
    const auto it =
        std::find_if(ort->begin(), ort->end(), [&](const Tensor& t) { return t.name == names[i]; });
    ASSERT_NE(it, ort->end()) << names[i];
    ASSERT_EQ(static_cast<std::size_t>(m.numel()), it->data.size()) << names[i];
    if (m.size(2) == 1) ++score_maps;  // [1, N, K] with K = 1 class
    const at::Tensor theirs = at::from_blob(it->data.data(), m.sizes(), at::kFloat);
    EXPECT_LE((m - theirs).abs().max().item<double>(), 1e-3) << names[i];
  }
  EXPECT_EQ(score_maps, 4);
  auto detected = (*det)->detect(bus, DetectOptions{});
  ASSERT_TRUE(detected) << detected.error().message;  // the normal PicoDet decoder reads the K-class output
}

TEST(TrainerTest, PicodetOverfitsOneImage) {
  TempDir tmp;
  const auto data = test::make_mini_aquarium(tmp.path() / "data", 1, 0, 2, 3);  // one penguin image
  TrainOptions o = small_options(data, tmp.path() / "out");
  o.base = "picodet_s_320";
  o.img_size = 0;
  o.split_train = "train";
  o.split_val = "train";
  o.batch = 1;
  o.epochs = 20;
  o.lr = 0.01;
  o.first_trained = Section::kNeck;  // the default (--freeze backbone): the folded-BN backbone is fragile
  o.augment.enabled = false;
  o.threads = 0;
  auto report = run_training(o);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_TRUE(report->finished);
  EXPECT_GE(report->metrics["trained"]["stats"]["AP50"].get<double>(), 0.9) << report->metrics.dump();
  // Tight boxes and a confident class, not only a box that happens to rank first: AP over IoU 0.5..0.95,
  // and the penguin found at the spec's own score threshold (0.5).
  EXPECT_GE(report->metrics["trained"]["stats"]["AP"].get<double>(), 0.7) << report->metrics.dump();
  auto spec = load_model_spec_file((fs::path(report->model_dir) / "mini.json").string());
  ASSERT_TRUE(spec) << spec.error().message;
  FamilyRegistry families;
  register_all_families(families);
  auto det = Detector::load(*spec, ModelRepository::with_defaults({}), families, RuntimeOptions{});
  ASSERT_TRUE(det) << det.error().message;
  auto dataset = dataset::load_dataset(data.path);
  ASSERT_TRUE(dataset) << dataset.error().message;
  ASSERT_FALSE(dataset->images.empty());
  const Image penguin = test::load_image(dataset->images[0].path);
  ASSERT_FALSE(penguin.empty());
  auto found = (*det)->detect(penguin, DetectOptions{});
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_FALSE(found->detections.empty());
}

struct BadCase {
  const char* what;
  std::function<void(TrainOptions&, const fs::path&)> change;
  ErrorCode code;
  const char* mentions;
};

TEST(TrainerTest, BadInputsGiveClearErrorsAndWriteNothing) {
  TempDir tmp;
  const auto data = test::make_mini_aquarium(tmp.path() / "data", 2, 1, 0, 3);
  fs::create_directories(tmp.path() / "empty" / "train" / "images");
  fs::create_directories(tmp.path() / "empty" / "train" / "labels");
  visearch::test::write_text(tmp.path() / "empty" / "data.yaml",
                             "train: train/images\nval: train/images\nnames: ['a']\n");
  const std::vector<BadCase> cases{
      {"unknown base", [](TrainOptions& o, const fs::path&) { o.base = "no_such_model"; },
       ErrorCode::kNotFound, "no_such_model"},
      {"class not in the data set", [](TrainOptions& o, const fs::path&) { o.classes = {"octopus"}; },
       ErrorCode::kInvalidArgument, "octopus"},
      {"class without boxes",
       [](TrainOptions& o, const fs::path&) {
         o.classes = {"fish", "starfish"};
       },
       ErrorCode::kInvalidArgument, "starfish"},
      {"empty data set",
       [](TrainOptions& o, const fs::path& root) {
         o.data = (root / "empty").string();
         o.classes.clear();
       },
       ErrorCode::kInvalidArgument, "image"},
      {"family that cannot be trained", [](TrainOptions& o, const fs::path&) { o.base = "nanodet_m_416"; },
       ErrorCode::kInvalidSpec, "nanodet"},
      {"input size fixed by the base graph",
       [](TrainOptions& o, const fs::path&) {
         o.base = "picodet_s_416";
         o.img_size = 320;
       },
       ErrorCode::kInvalidArgument, "picodet_s_320"},
  };
  for (const BadCase& c : cases) {
    TrainOptions o = small_options(data, tmp.path() / "out");
    c.change(o, tmp.path());
    auto report = run_training(o);
    ASSERT_FALSE(report) << c.what;
    EXPECT_EQ(report.error().code, c.code) << c.what << ": " << report.error().message;
    EXPECT_NE(report.error().message.find(c.mentions), std::string::npos)
        << c.what << ": " << report.error().message;
    EXPECT_FALSE(fs::exists(tmp.path() / "out" / "mini")) << c.what;
  }
}

}  // namespace
}  // namespace visearch::train
