// Model comparison reports: a Markdown table, JSON, and an SVG scatter chart of AP against p50 latency
// (models on the upper-left frontier are the ones worth considering: no other model is both faster and
// more accurate). Rendering only; the measurements come from evaluate_model().
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace visearch::eval {

struct CompareRow {
  std::string model;
  std::string family;
  bool ok = false;
  std::string error;  // why the model was not measured (weights missing, ...)
  double ap = 0;
  double ap50 = 0;
  double ap75 = 0;
  double p50_ms = 0;             // preprocess + inference + postprocess, median over images
  double images_per_second = 0;  // decode + detect, sequential
  std::size_t images = 0;
  bool pareto = false;  // filled by mark_pareto_front
};

// Sets `pareto` on every ok row that no other ok row beats on both AP (higher) and p50 latency (lower).
void mark_pareto_front(std::vector<CompareRow>& rows);

std::string compare_markdown(const std::vector<CompareRow>& rows, const std::string& dataset,
                             const std::string& split);
nlohmann::json compare_json(const std::vector<CompareRow>& rows, const std::string& dataset,
                            const std::string& split);
std::string compare_svg(const std::vector<CompareRow>& rows, const std::string& title);

}  // namespace visearch::eval
