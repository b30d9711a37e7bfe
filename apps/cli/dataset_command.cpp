#include "cli/dataset_command.h"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/common.h"
#include "dataset/atomic_file.h"
#include "dataset/check.h"
#include "dataset/convert.h"
#include "dataset/dataset.h"
#include "dataset/json_lines.h"
#include "dataset/split.h"

namespace visearch::cli {
namespace {

namespace fs = std::filesystem;
using namespace visearch::dataset;  // NOLINT(google-build-using-namespace): a CLI front end for one module

struct CommonArgs {
  std::string format = "auto";
  std::string images_dir;
  bool json = false;
  std::size_t max_listed = 30;
};

struct ConvertArgs {
  CommonArgs common;
  std::string to;
  std::string source;
  std::string destination;
  std::string image_mode = "copy";
  bool strict = false;
};

struct CheckArgs {
  CommonArgs common;
  std::string path;
  CheckOptions options;
};

struct SplitArgs {
  CommonArgs common;
  std::string path;
  std::string ratios = "0.8,0.1,0.1";
  std::string names;
  std::uint64_t seed = 0;
  std::string out_dir;
  std::string to;
  std::string image_mode = "copy";
  int near_distance = kDefaultNearDuplicateDistance;
};

ImageMode parse_image_mode(const std::string& text) {
  if (text == "symlink") return ImageMode::kSymlink;
  if (text == "none") return ImageMode::kNone;
  return ImageMode::kCopy;
}

Result<LoadOptions> load_options(const CommonArgs& args) {
  auto format = parse_format(args.format);
  if (!format) return format.error();
  LoadOptions load;
  load.format = *format;
  load.images_dir = args.images_dir;
  return load;
}

void print_diagnostics(const Diagnostics& diagnostics, std::size_t limit) {
  std::size_t shown = 0;
  for (Severity severity : {Severity::kError, Severity::kWarning}) {
    for (const Diagnostic& d : diagnostics) {
      if (d.severity != severity) continue;
      if (shown++ < limit) std::fprintf(stderr, "%s\n", d.to_string().c_str());
    }
  }
  if (shown > limit) std::fprintf(stderr, "... %zu more (use --json for all)\n", shown - limit);
}

void print_write_report(const WriteReport& report) {
  std::printf("wrote %zu image(s), %zu box(es), %zu file(s)\n", report.images_written,
              report.annotations_written, report.files_written);
  for (const auto& [what, count] : report.not_representable) {
    std::printf("  not representable in the target format: %s: %zu\n", what.c_str(), count);
  }
  if (!report.skipped_images.empty()) {
    std::printf("  %zu image(s) not written because their annotations had errors:\n",
                report.skipped_images.size());
    for (std::size_t i = 0; i < report.skipped_images.size() && i < 20; ++i) {
      std::printf("    %s\n", report.skipped_images[i].c_str());
    }
  }
}

int run_convert(const ConvertArgs& args) {
  auto load = load_options(args.common);
  if (!load) return report_error(load.error());
  auto to = parse_format(args.to);
  if (!to) return report_error(to.error());
  ConvertOptions options;
  options.load = *load;
  options.to = *to;
  options.write.images = parse_image_mode(args.image_mode);
  options.strict = args.strict;
  auto result = convert_dataset(args.source, args.destination, options);
  if (!result) {
    // --strict refusals are about the data, not the command line.
    const int code = report_error(result.error());
    return result.error().message.find("(--strict)") != std::string::npos ? 1 : code;
  }
  const std::size_t read_errors = count_errors(result->read_diagnostics);
  const std::size_t write_errors = count_errors(result->write.diagnostics);
  if (args.common.json) {
    std::cout << dataset::dump_json(to_json(*result)) << '\n';
  } else {
    print_diagnostics(result->read_diagnostics, args.common.max_listed);
    print_diagnostics(result->write.diagnostics, args.common.max_listed);
    std::printf("read %zu image(s), %zu box(es) as %s (%zu error(s), %zu warning(s))\n", result->images_read,
                result->annotations_read, std::string(format_name(result->from)).c_str(), read_errors,
                count_warnings(result->read_diagnostics));
    print_write_report(result->write);
  }
  return read_errors + write_errors > 0 || !result->write.skipped_images.empty() ? 1 : 0;
}

int run_check(const CheckArgs& args) {
  auto load = load_options(args.common);
  if (!load) return report_error(load.error());
  auto report = check_dataset(args.path, *load, args.options);
  if (!report) return report_error(report.error());
  if (args.common.json) {
    std::cout << dataset::dump_json(to_json(*report)) << '\n';
  } else {
    std::cout << to_text(*report, args.common.max_listed);
  }
  return report->errors() > 0 ? 1 : 0;
}

int run_split(const SplitArgs& args) {
  auto load = load_options(args.common);
  if (!load) return report_error(load.error());
  auto ratios = parse_ratios(args.ratios);
  if (!ratios) return report_error(ratios.error());
  SplitOptions options;
  options.ratios = *ratios;
  options.seed = args.seed;
  if (!args.names.empty()) {
    std::stringstream stream(args.names);
    std::string name;
    while (std::getline(stream, name, ',')) options.names.push_back(name);
  }
  std::vector<ImageFingerprint> prints;
  auto ds = load_with_fingerprints(args.path, *load, prints);
  if (!ds) return report_error(ds.error());
  auto plan = plan_split(*ds, prints, options, args.near_distance);
  if (!plan) return report_error(plan.error());
  const nlohmann::json plan_json = to_json(*plan, *ds);
  int exit_code = count_errors(ds->diagnostics) > 0 ? 1 : 0;
  if (!args.out_dir.empty()) {
    DatasetFormat target = ds->format;
    if (!args.to.empty()) {
      auto to = parse_format(args.to);
      if (!to) return report_error(to.error());
      target = *to;
    }
    Dataset split = *ds;
    for (std::size_t i = 0; i < split.images.size(); ++i) {
      split.images[i].split = plan->names[static_cast<std::size_t>(plan->assignment[i])];
    }
    split.split_aliases.clear();
    WriteOptions write;
    write.images = parse_image_mode(args.image_mode);
    auto report = write_dataset(split, args.out_dir, target, write);
    if (!report) return report_error(report.error());
    if (auto st = write_file_atomic((fs::path(args.out_dir) / "split.json").string(),
                                    dataset::dump_json(plan_json) + "\n");
        !st) {
      return report_error(st.error());
    }
    if (!args.common.json) print_write_report(*report);
    print_diagnostics(report->diagnostics, args.common.max_listed);
    if (count_errors(report->diagnostics) > 0 || !report->skipped_images.empty()) exit_code = 1;
  }
  print_diagnostics(ds->diagnostics, args.common.max_listed);
  if (args.common.json) {
    std::cout << dataset::dump_json(plan_json) << '\n';
  } else {
    std::printf("%zu image(s) in %zu duplicate group(s) kept together; seed %llu\n", ds->images.size(),
                plan->groups, static_cast<unsigned long long>(args.seed));
    for (std::size_t s = 0; s < plan->names.size(); ++s) {
      std::size_t missing = 0;
      for (std::size_t c = 0; c < ds->classes.size(); ++c) {
        std::size_t total = 0;
        for (const auto& counts : plan->counts) total += counts.per_class[c];
        if (total > 0 && plan->counts[s].per_class[c] == 0) ++missing;
      }
      std::printf("  %-10s %6zu images (%5.1f%%) %7zu boxes  %zu used class(es) absent\n",
                  plan->names[s].c_str(), plan->counts[s].images,
                  ds->images.empty() ? 0.0
                                     : 100.0 * static_cast<double>(plan->counts[s].images) /
                                           static_cast<double>(ds->images.size()),
                  plan->counts[s].boxes, missing);
    }
    if (args.out_dir.empty()) std::printf("(dry run: give --out DIR to write the split data set)\n");
  }
  return exit_code;
}

void add_common(CLI::App* cmd, CommonArgs& args) {
  cmd->add_option("--format", args.format, "Source format")
      ->check(CLI::IsMember({"auto", "yolo", "coco", "voc"}))
      ->capture_default_str();
  cmd->add_option("--images", args.images_dir, "Folder holding the images when the annotations are elsewhere")
      ->check(CLI::ExistingDirectory);
  cmd->add_flag("--json", args.json, "JSON output");
  cmd->add_option("--max-listed", args.max_listed, "Problems listed in text output")->capture_default_str();
}

}  // namespace

void add_dataset_command(CLI::App& app, int* exit_code) {
  CLI::App* cmd =
      app.add_subcommand("dataset", "Data-set tools: convert, check, split (YOLO, COCO, Pascal VOC)");
  cmd->require_subcommand(1);

  auto convert = std::make_shared<ConvertArgs>();
  CLI::App* c = cmd->add_subcommand(
      "convert", "Convert between YOLO, COCO and Pascal VOC; reports what the target cannot hold");
  c->add_option("--from", convert->common.format, "Source format")
      ->check(CLI::IsMember({"auto", "yolo", "coco", "voc"}))
      ->capture_default_str();
  c->add_option("--to", convert->to, "Target format")
      ->check(CLI::IsMember({"yolo", "coco", "voc"}))
      ->required();
  c->add_option("source", convert->source, "Source data set")->required();
  c->add_option("destination", convert->destination, "Output folder")->required();
  c->add_option("--images", convert->common.images_dir,
                "Folder holding the source images when the annotations are elsewhere")
      ->check(CLI::ExistingDirectory);
  c->add_option("--image-mode", convert->image_mode, "How images reach the output")
      ->check(CLI::IsMember({"copy", "symlink", "none"}))
      ->capture_default_str();
  c->add_flag("--strict", convert->strict, "Write nothing if any source annotation has an error");
  c->add_flag("--json", convert->common.json, "JSON report");
  c->add_option("--max-listed", convert->common.max_listed, "Problems listed in text output")
      ->capture_default_str();
  c->callback([convert, exit_code] { *exit_code = run_convert(*convert); });

  auto check = std::make_shared<CheckArgs>();
  CLI::App* k =
      cmd->add_subcommand("check", "Health report; exit status 1 when errors (not warnings) are found");
  k->add_option("path", check->path, "Data set")->required();
  add_common(k, check->common);
  k->add_option("--tiny-pixels", check->options.tiny_pixels, "Boxes with a side below this are tiny")
      ->capture_default_str();
  k->add_option("--tiny-fraction", check->options.tiny_fraction,
                "... or below this fraction of the image side")
      ->capture_default_str();
  k->add_option("--near-distance", check->options.near_duplicate_distance,
                "dHash Hamming distance for near duplicates (-1 disables)")
      ->capture_default_str();
  k->add_option("--imbalance-warning", check->options.imbalance_warning_ratio,
                "Warn above this most/least class ratio")
      ->capture_default_str();
  k->callback([check, exit_code] { *exit_code = run_check(*check); });

  auto split = std::make_shared<SplitArgs>();
  CLI::App* s =
      cmd->add_subcommand("split", "Deterministic stratified split; duplicates never straddle splits");
  s->add_option("path", split->path, "Data set")->required();
  add_common(s, split->common);
  s->add_option("--ratios", split->ratios, "Split ratios, summing to 1")->capture_default_str();
  s->add_option("--names", split->names, "Split names (default train,val,test)");
  s->add_option("--seed", split->seed, "Random seed")->capture_default_str();
  s->add_option("-o,--out", split->out_dir, "Write the split data set (and split.json) here");
  s->add_option("--to", split->to, "Output format (default: the source's)")
      ->check(CLI::IsMember({"yolo", "coco", "voc"}));
  s->add_option("--image-mode", split->image_mode, "How images reach the output")
      ->check(CLI::IsMember({"copy", "symlink", "none"}))
      ->capture_default_str();
  s->add_option("--near-distance", split->near_distance,
                "dHash distance grouping near duplicates (-1: exact only)")
      ->capture_default_str();
  s->callback([split, exit_code] { *exit_code = run_split(*split); });
}

}  // namespace visearch::cli
