// Fine-tuning a shipped detector on a user's labelled data set: `visearch train`, the labelling tool's
// Train action and the tests all call run_training().
//
// Flow: load the data set (any format src/dataset reads) -> pick the train / validation images (the
// data set's splits, else a seeded 15 % hold-out) -> build the base model's graph in libtorch
// (train/graph_net.h) with a class head for the chosen classes -> SGD with warm-up + cosine, EMA weights,
// augmentation (train/train_data.h) -> after every epoch write the EMA weights back into the ONNX graph and
// score them with the project's own evaluator through ONNX Runtime, exactly as `visearch eval` would ->
// keep the best epoch -> publish the model folder.
//
// Output: OUT/NAME/ with NAME.onnx, NAME.json (a model spec), metrics.json, train_log.jsonl and
// reference_detections.json. Work happens in OUT/.NAME.partial/ (which also holds the checkpoint) and is
// renamed to OUT/NAME only when complete, so a failed or interrupted run never leaves a folder that looks
// like a finished model. `resume` continues from the checkpoint of such a partial folder.
//
// Thread-safety: one run per call; `stop` may be set from a signal handler or another thread.
// Failure modes: kInvalidArgument (bad data set, classes, options), kNotFound (unknown base model),
// kModelMissing, kIo (disk full, unwritable output), kInvalidSpec (base model cannot be trained).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "dataset/dataset.h"
#include "train/graph_net.h"
#include "train/train_data.h"

namespace visearch::train {

struct TrainOptions {
  std::string data;
  dataset::DatasetFormat format = dataset::DatasetFormat::kAuto;
  std::string split_train;  // "" = "train" when present, else every image not used for validation
  std::string split_val;    // "" = a split named val/valid, else a seeded 15 % hold-out
  std::string base = "yolox_nano";
  std::vector<std::string> classes;  // "" = every class of the data set
  int img_size = 0;                  // 0 = the base spec's input size
  int epochs = 0;                    // 0 = automatic (see docs/training.md)
  int batch = 8;
  Section first_trained = Section::kNeck;  // --freeze backbone (default)
  double lr = 0;                           // 0 = automatic
  std::uint64_t seed = 0;
  int threads = 0;  // 0 = all cores
  std::string out = "runs/train";
  std::string name;                // "" = <base>_<data set folder name>
  std::string resume;              // a .partial folder (or its final name) to continue
  double time_budget_minutes = 0;  // 0 = none
  std::vector<std::string> model_dirs;
  AugmentOptions augment;
  int reference_images = 3;
  double holdout_fraction = 0.15;
  // Leave out (with a message) the classes that have no box in the training images, instead of failing:
  // the labelling tool trains on what has been labelled so far.
  bool skip_classes_without_boxes = false;
  const std::atomic<bool>* stop = nullptr;
};

struct EpochRecord {
  int epoch = 0;  // 1-based
  int epochs = 0;
  double loss = 0;
  double box_loss = 0;
  double obj_loss = 0;  // YOLOX objectness
  double dfl_loss = 0;  // PicoDet distribution focal loss
  double cls_loss = 0;
  double lr = 0;
  double ap = 0;
  double ap50 = 0;
  double images_per_second = 0;
  std::array<double, 4> ms_per_image{};  // data + augmentation, forward, loss (incl. SimOTA), backward + step
  double eval_s = 0;                     // export + validation
  double elapsed_s = 0;
  double eta_s = 0;
  bool best = false;
};

struct TrainReport {
  std::string model_dir;
  std::string spec_path;
  std::string partial_dir;  // set when stopped before the end (resume from here)
  bool finished = false;
  std::string stop_reason;  // "", "interrupted", "time budget"
  int best_epoch = 0;
  nlohmann::json metrics;  // metrics.json
};

struct TrainCallbacks {
  std::function<void(const std::string&)> message;  // notices ("no validation split: holding out ...")
  std::function<void(const EpochRecord&)> epoch;
};

Result<TrainReport> run_training(const TrainOptions& options, const TrainCallbacks& callbacks = {});

nlohmann::json to_json(const EpochRecord& record);

// Parses "none", "backbone", "backbone+neck" into the first trained section.
Result<Section> parse_freeze(std::string_view text);

}  // namespace visearch::train
