// Edit-cost benchmark of the labelling tool (not a test; bench/label_edit_cost.sh runs it): on a labelled
// data set, how many box edits (adds + deletes + moves + class changes) a person needs per image to reach
// the ground truth, starting from the tool's pre-labels versus from nothing. The matching rule is
// labeling::count_edits (src/labeling/edit_cost.h, docs/labelling.md). Proposals are exactly what
// `visearch label` shows: labeling::propose() with the data set's classes mapped from the detector's
// labels by name, then kept when score >= the slider threshold; every threshold in --thresholds is
// evaluated on one detection pass per image.
//
//   visearch_bench_label_edit_cost --data DIR [--model picodet_s_416] [--map FILE]
//       [--thresholds 0.3,0.4,0.5,0.6] [--json OUT] [--threads 2]
//
// Images without a label file count as images with no objects (coco128 has two).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dataset/dataset.h"
#include "labeling/edit_cost.h"
#include "labeling/label_map.h"
#include "labeling/prelabel.h"

namespace {

using nlohmann::json;
using visearch::labeling::EditCount;
using visearch::labeling::LabelBox;

struct Args {
  std::string data;
  std::string model = "picodet_s_416";
  std::string map_file;
  std::vector<double> thresholds{0.3, 0.4, 0.5, 0.6, 0.7};
  std::string json_out;
  int threads = 2;
};

int usage(const char* message) {
  std::fprintf(stderr,
               "label_edit_cost: %s\nusage: visearch_bench_label_edit_cost --data DIR [--model NAME] "
               "[--map FILE] [--thresholds a,b,...] [--json OUT] [--threads N]\n",
               message);
  return 2;
}

double per_image(std::size_t n, std::size_t images) {
  return images == 0 ? 0.0 : static_cast<double>(n) / static_cast<double>(images);
}

json count_json(const EditCount& c, std::size_t images) {
  return json{{"truth_boxes", c.truth},
              {"proposals", c.proposals},
              {"kept", c.kept},
              {"class_changes", c.class_changes},
              {"moves", c.moves},
              {"deletes", c.deletes},
              {"adds", c.adds},
              {"edits", c.edits()},
              {"edits_per_image", per_image(c.edits(), images)}};
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return usage(("missing value after " + flag).c_str());
    const std::string value = argv[++i];
    if (flag == "--data") {
      args.data = value;
    } else if (flag == "--model") {
      args.model = value;
    } else if (flag == "--map") {
      args.map_file = value;
    } else if (flag == "--json") {
      args.json_out = value;
    } else if (flag == "--threads") {
      args.threads = std::atoi(value.c_str());
    } else if (flag == "--thresholds") {
      args.thresholds.clear();
      std::stringstream parts(value);
      std::string item;
      while (std::getline(parts, item, ',')) args.thresholds.push_back(std::atof(item.c_str()));
    } else {
      return usage(("unknown option " + flag).c_str());
    }
  }
  if (args.data.empty()) return usage("--data is required");

  auto ds = visearch::dataset::load_dataset(args.data);
  if (!ds) return usage(ds.error().message.c_str());
  auto detector = visearch::labeling::load_detector(args.model, {}, args.threads);
  if (!detector) return usage(detector.error().message.c_str());
  std::optional<visearch::labeling::LabelMapFile> map_file;
  if (!args.map_file.empty()) {
    auto loaded = visearch::labeling::load_label_map(args.map_file);
    if (!loaded) return usage(loaded.error().message.c_str());
    map_file = std::move(*loaded);
  }
  auto mapping = visearch::labeling::LabelMapping::build((*detector)->spec().name, (*detector)->spec().labels,
                                                         ds->classes, map_file ? &*map_file : nullptr);
  if (!mapping) return usage(mapping.error().message.c_str());

  std::vector<EditCount> totals(args.thresholds.size());
  EditCount from_nothing;
  std::size_t images = 0;
  std::size_t unlabelled = 0;
  double detect_ms = 0;
  for (const visearch::dataset::ImageRecord& record : ds->images) {
    if (record.path.empty()) continue;
    std::vector<LabelBox> truth;
    for (const visearch::dataset::Annotation& a : record.annotations) {
      truth.push_back(LabelBox{a.class_id, a.box.x1, a.box.y1, a.box.x2, a.box.y2});
    }
    if (!record.labelled) ++unlabelled;
    const auto started = std::chrono::steady_clock::now();
    auto proposed = visearch::labeling::propose_file(**detector, record.path, *mapping);
    detect_ms +=
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    if (!proposed) {
      std::fprintf(stderr, "label_edit_cost: %s: %s\n", record.path.c_str(),
                   proposed.error().message.c_str());
      return 1;
    }
    ++images;
    from_nothing += visearch::labeling::count_edits({}, truth);
    for (std::size_t t = 0; t < args.thresholds.size(); ++t) {
      std::vector<LabelBox> shown;
      for (const visearch::labeling::Proposal& p : proposed->proposals) {
        if (static_cast<double>(p.score) >= args.thresholds[t]) shown.push_back(p.box);
      }
      totals[t] += visearch::labeling::count_edits(shown, truth);
    }
  }

  std::printf("data: %s (%zu images, %zu without a label file = no objects, %zu ground-truth boxes)\n",
              args.data.c_str(), images, unlabelled, from_nothing.truth);
  std::printf("model: %s, labels mapped by name to %zu of %zu classes; detection %.1f ms/image\n",
              (*detector)->spec().name.c_str(), mapping->mapped_labels(), ds->classes.size(),
              per_image(static_cast<std::size_t>(detect_ms), images));
  std::printf("from nothing: %zu edits (%zu adds), %.2f edits/image\n\n", from_nothing.edits(),
              from_nothing.adds, per_image(from_nothing.edits(), images));
  std::printf(
      "| score >= | proposals/img | kept | class changes | moves | deletes | adds | edits/img | vs nothing "
      "|\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  json rows = json::array();
  std::size_t best = 0;
  for (std::size_t t = 0; t < args.thresholds.size(); ++t) {
    const EditCount& c = totals[t];
    const double ratio = from_nothing.edits() == 0
                             ? 0.0
                             : static_cast<double>(c.edits()) / static_cast<double>(from_nothing.edits());
    std::printf("| %.2f | %.2f | %zu | %zu | %zu | %zu | %zu | %.2f | %.0f%% |\n", args.thresholds[t],
                per_image(c.proposals, images), c.kept, c.class_changes, c.moves, c.deletes, c.adds,
                per_image(c.edits(), images), 100.0 * ratio);
    json row = count_json(c, images);
    row["score_threshold"] = args.thresholds[t];
    row["edits_vs_from_nothing"] = ratio;
    rows.push_back(std::move(row));
    if (c.edits() < totals[best].edits()) best = t;
  }
  std::printf("\nfewest edits at score >= %.2f: %.2f edits/image vs %.2f from nothing (%.0f%% fewer)\n",
              args.thresholds[best], per_image(totals[best].edits(), images),
              per_image(from_nothing.edits(), images),
              from_nothing.edits() == 0 ? 0.0
                                        : 100.0 * (1.0 - static_cast<double>(totals[best].edits()) /
                                                             static_cast<double>(from_nothing.edits())));
  if (!args.json_out.empty()) {
    const json report{{"data", args.data},
                      {"model", (*detector)->spec().name},
                      {"images", images},
                      {"images_without_label_file", unlabelled},
                      {"rule", {{"keep_iou", 0.5}, {"move_iou", 0.1}}},
                      {"from_nothing", count_json(from_nothing, images)},
                      {"with_prelabels", rows},
                      {"best_threshold", args.thresholds[best]},
                      {"detect_ms_per_image", per_image(static_cast<std::size_t>(detect_ms), images)}};
    std::ofstream(args.json_out) << report.dump(2) << "\n";
  }
  return 0;
}
