#include "cli/train_command.h"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/common.h"
#include "train/trainer.h"

namespace visearch::cli {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int /*signal*/) {
  g_stop.store(true);
}

std::string format_duration(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

struct TrainArgs {
  train::TrainOptions options;
  std::string format = "auto";
  std::string freeze = "backbone";
  std::string classes;
  bool no_augment = false;
};

int run_train(TrainArgs& args) {
  auto format = dataset::parse_format(args.format);
  if (!format) return report_error(format.error());
  args.options.format = *format;
  auto freeze = train::parse_freeze(args.freeze);
  if (!freeze) return report_error(freeze.error());
  args.options.first_trained = *freeze;
  args.options.augment.enabled = !args.no_augment;
  if (!args.classes.empty()) {
    std::string item;
    for (char c : args.classes + ",") {
      if (c == ',') {
        if (!item.empty()) args.options.classes.push_back(item);
        item.clear();
      } else {
        item += c;
      }
    }
  }
  if (args.options.data.empty() && args.options.resume.empty()) {
    return report_error(Error{ErrorCode::kInvalidArgument, "give --data DATASET_DIR (or --resume DIR)"});
  }
  g_stop.store(false);
  args.options.stop = &g_stop;
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  const bool tty = stderr_is_terminal();
  train::TrainCallbacks callbacks;
  callbacks.message = [tty](const std::string& text) {
    if (tty) {
      std::fprintf(stderr, "visearch train: %s\n", text.c_str());
    } else {
      std::fprintf(stderr, "%s\n", nlohmann::json({{"event", "notice"}, {"message", text}}).dump().c_str());
    }
  };
  callbacks.epoch = [tty](const train::EpochRecord& r) {
    if (tty) {
      std::fprintf(stderr,
                   "epoch %3d/%d  loss %.3f (box %.3f obj %.3f cls %.3f)  val AP %.3f AP50 %.3f  %.1f img/s  "
                   "ETA %s%s\n",
                   r.epoch, r.epochs, r.loss, r.box_loss, r.obj_loss, r.cls_loss, r.ap, r.ap50,
                   r.images_per_second, format_duration(r.eta_s).c_str(), r.best ? "  *best" : "");
    } else {
      nlohmann::json j = train::to_json(r);
      j["event"] = "epoch";
      std::fprintf(stderr, "%s\n", j.dump().c_str());
    }
  };
  auto report = train::run_training(args.options, callbacks);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (!report) {
    // Nothing is published on failure; the partial folder (if any) is left for inspection or --resume.
    return report_error(report.error());
  }
  if (!report->finished) {
    std::fprintf(
        stderr,
        "visearch train: stopped (%s) before a model was published; the checkpoint is in %s; continue with "
        "`visearch train --resume %s`\n",
        report->stop_reason.c_str(), report->partial_dir.c_str(), report->partial_dir.c_str());
    return 130;
  }
  const auto& m = report->metrics;
  auto stat = [](const nlohmann::json& j, const char* key) {
    return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
  };
  const nlohmann::json& trained = m["trained"];
  const nlohmann::json& base = m["base"];
  const nlohmann::json& trained_stats = trained.contains("stats") ? trained["stats"] : trained;
  const nlohmann::json& base_stats = base.contains("stats") ? base["stats"] : base;
  std::printf("%s\n",
              nlohmann::json(
                  {{"event", "done"},
                   {"model_dir", report->model_dir},
                   {"spec", report->spec_path},
                   {"best_epoch", report->best_epoch},
                   {"stop_reason", report->stop_reason},
                   {"base", {{"AP", stat(base_stats, "AP")}, {"AP50", stat(base_stats, "AP50")}}},
                   {"trained", {{"AP", stat(trained_stats, "AP")}, {"AP50", stat(trained_stats, "AP50")}}}})
                  .dump()
                  .c_str());
  if (tty) {
    std::fprintf(stderr,
                 "visearch train: model written to %s (best epoch %d)\n  AP %.3f -> %.3f, AP50 %.3f -> %.3f\n"
                 "  try it: visearch detect --model %s IMAGE\n",
                 report->model_dir.c_str(), report->best_epoch, stat(base_stats, "AP"),
                 stat(trained_stats, "AP"), stat(base_stats, "AP50"), stat(trained_stats, "AP50"),
                 report->spec_path.c_str());
  }
  return 0;
}

}  // namespace

void add_train_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "Fine-tune a detector on your own labelled classes (CPU)");
  train::TrainOptions& o = args->options;
  cmd->add_option("--data", o.data, "Data set folder, data.yaml, COCO .json or VOC folder")
      ->check(CLI::ExistingPath);
  cmd->add_option("--format", args->format, "auto|yolo|coco|voc")->capture_default_str();
  cmd->add_option("--split-train", o.split_train, "Training split (default: train)");
  cmd->add_option("--split-val", o.split_val, "Validation split (default: val/valid, else a 15 % hold-out)");
  cmd->add_option("--base", o.base,
                  "Pretrained model to start from (yolox_nano, picodet_s_416, picodet_s_320)")
      ->capture_default_str();
  cmd->add_option("--classes", args->classes, "Classes to train, comma-separated (default: all)");
  cmd->add_option("--img-size", o.img_size, "Input size (multiple of 32; default: the base model's)");
  cmd->add_option("--epochs", o.epochs, "Epochs (default: automatic, about 1500 updates)");
  cmd->add_option("--batch", o.batch, "Images per step")->capture_default_str();
  cmd->add_option("--freeze", args->freeze, "none|backbone|backbone+neck")->capture_default_str();
  cmd->add_option("--lr", o.lr, "Learning rate (default: 0.01 * batch / 8)");
  cmd->add_option("--seed", o.seed, "Random seed")->capture_default_str();
  cmd->add_option("--threads", o.threads, "CPU threads (default: all cores)");
  cmd->add_option("--out", o.out, "Output folder")->capture_default_str();
  cmd->add_option("--name", o.name, "Model name (default: <base>_<data set name>)");
  cmd->add_option("--resume", o.resume, "Continue an interrupted run from its folder");
  cmd->add_option("--time-budget", o.time_budget_minutes, "Stop at the best epoch after this many minutes");
  cmd->add_option("--model-dir", o.model_dirs, "Extra folder with model weights (repeatable)")
      ->allow_extra_args(false)
      ->check(CLI::ExistingDirectory);
  cmd->add_flag("--no-augment", args->no_augment, "Train without augmentation");
  cmd->callback([args, exit_code] { *exit_code = run_train(*args); });
}

}  // namespace visearch::cli
