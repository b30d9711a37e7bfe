#include "eval/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace visearch::eval {
namespace {

// v with `decimals` decimals ("%.*f").
std::string fmt(int decimals, double v) {
  char buffer[64];
  const int n = std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  return {buffer, n > 0 ? std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buffer - 1) : 0};
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A "nice" tick step (1, 2 or 5 x 10^k) giving about `target` ticks over `span`.
double nice_step(double span, int target) {
  if (!(span > 0)) return 1;
  const double raw = span / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / magnitude;
  return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * magnitude;
}

}  // namespace

void mark_pareto_front(std::vector<CompareRow>& rows) {
  for (CompareRow& a : rows) {
    a.pareto = a.ok;
    if (!a.ok) continue;
    for (const CompareRow& b : rows) {
      if (&a == &b || !b.ok) continue;
      if (b.ap >= a.ap && b.p50_ms <= a.p50_ms && (b.ap > a.ap || b.p50_ms < a.p50_ms)) {
        a.pareto = false;
        break;
      }
    }
  }
}

std::string compare_markdown(const std::vector<CompareRow>& rows, const std::string& dataset,
                             const std::string& split) {
  const std::string where = split.empty() || split.front() == '(' ? split : "split " + split;
  std::string out =
      "Models on `" + dataset + "`" + (where.empty() ? std::string() : " (" + where + ")") + "\n\n";
  out += "| model | family | AP | AP50 | AP75 | p50 latency (ms) | images/s | images | frontier |\n";
  out += "|---|---|---:|---:|---:|---:|---:|---:|:---:|\n";
  std::vector<const CompareRow*> sorted;
  sorted.reserve(rows.size());
  for (const CompareRow& r : rows) sorted.push_back(&r);
  std::stable_sort(sorted.begin(), sorted.end(), [](const CompareRow* a, const CompareRow* b) {
    if (a->ok != b->ok) return a->ok;
    return a->ap > b->ap;
  });
  for (const CompareRow* r : sorted) {
    if (!r->ok) {
      out += "| " + r->model + " | " + r->family + " | - | - | - | - | - | - | not measured: " + r->error +
             " |\n";
      continue;
    }
    out += "| " + r->model + " | " + r->family + " | " + fmt(3, r->ap) + " | " + fmt(3, r->ap50) + " | " +
           fmt(3, r->ap75) + " | " + fmt(1, r->p50_ms) + " | " + fmt(1, r->images_per_second) + " | " +
           std::to_string(r->images) + " | " + (r->pareto ? "yes" : "") + " |\n";
  }
  out +=
      "\nAP = COCO AP@[.5:.95] (pycocotools algorithm); p50 latency = median preprocess + inference + "
      "postprocess per "
      "image; images/s = sequential decode + detect. Frontier: no other model is both faster and more "
      "accurate.\n";
  return out;
}

nlohmann::json compare_json(const std::vector<CompareRow>& rows, const std::string& dataset,
                            const std::string& split) {
  nlohmann::json models = nlohmann::json::array();
  for (const CompareRow& r : rows) {
    nlohmann::json m{{"model", r.model}, {"family", r.family}, {"ok", r.ok}};
    if (r.ok) {
      m["AP"] = r.ap;
      m["AP50"] = r.ap50;
      m["AP75"] = r.ap75;
      m["p50_ms"] = r.p50_ms;
      m["images_per_second"] = r.images_per_second;
      m["images"] = r.images;
      m["frontier"] = r.pareto;
    } else {
      m["error"] = r.error;
    }
    models.push_back(std::move(m));
  }
  return {{"dataset", dataset}, {"split", split}, {"models", std::move(models)}};
}

std::string compare_svg(const std::vector<CompareRow>& rows, const std::string& title) {
  constexpr double kWidth = 760;
  constexpr double kHeight = 480;
  constexpr double kLeft = 70;
  constexpr double kRight = 180;
  constexpr double kTop = 50;
  constexpr double kBottom = 60;
  const double plot_w = kWidth - kLeft - kRight;
  const double plot_h = kHeight - kTop - kBottom;
  double max_ms = 0;
  double max_ap = 0;
  for (const CompareRow& r : rows) {
    if (!r.ok) continue;
    max_ms = std::max(max_ms, r.p50_ms);
    max_ap = std::max(max_ap, r.ap);
  }
  const double x_step = nice_step(max_ms > 0 ? max_ms : 1, 6);
  const double x_max = std::max(x_step, std::ceil(max_ms * 1.1 / x_step) * x_step);
  const double y_step = nice_step(max_ap > 0 ? max_ap : 1, 6);
  const double y_max = std::max(y_step, std::ceil(max_ap * 1.1 / y_step) * y_step);
  const auto px = [&](double ms) { return kLeft + ms / x_max * plot_w; };
  const auto py = [&](double ap) { return kTop + plot_h - ap / y_max * plot_h; };

  std::string svg = R"(<svg xmlns="http://www.w3.org/2000/svg" width=")" + fmt(0, kWidth) + "\" height=\"" +
                    fmt(0, kHeight) + "\" viewBox=\"0 0 " + fmt(0, kWidth) + " " + fmt(0, kHeight) +
                    "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + fmt(0, kWidth / 2) + R"(" y="24" text-anchor="middle" font-size="15">)" +
         xml_escape(title) + "</text>\n";
  // Grid and ticks.
  for (double x = 0; x <= x_max + 1e-9; x += x_step) {
    svg += "<line x1=\"" + fmt(1, px(x)) + "\" y1=\"" + fmt(1, kTop) + "\" x2=\"" + fmt(1, px(x)) +
           "\" y2=\"" + fmt(1, kTop + plot_h) + "\" stroke=\"#e5e5e5\"/>\n";
    svg += "<text x=\"" + fmt(1, px(x)) + "\" y=\"" + fmt(1, kTop + plot_h + 18) +
           R"(" text-anchor="middle">)" + fmt(x_step < 1 ? 1 : 0, x) + "</text>\n";
  }
  for (double y = 0; y <= y_max + 1e-9; y += y_step) {
    svg += "<line x1=\"" + fmt(1, kLeft) + "\" y1=\"" + fmt(1, py(y)) + "\" x2=\"" + fmt(1, kLeft + plot_w) +
           "\" y2=\"" + fmt(1, py(y)) + "\" stroke=\"#e5e5e5\"/>\n";
    svg += "<text x=\"" + fmt(1, kLeft - 8) + "\" y=\"" + fmt(1, py(y) + 4) + R"(" text-anchor="end">)" +
           fmt(y_step < 0.1 ? 2 : 1, y) + "</text>\n";
  }
  svg += "<rect x=\"" + fmt(1, kLeft) + "\" y=\"" + fmt(1, kTop) + "\" width=\"" + fmt(1, plot_w) +
         "\" height=\"" + fmt(1, plot_h) + "\" fill=\"none\" stroke=\"#333\"/>\n";
  svg += "<text x=\"" + fmt(1, kLeft + plot_w / 2) + "\" y=\"" + fmt(1, kHeight - 16) +
         "\" text-anchor=\"middle\">p50 latency per image (ms, lower is better)</text>\n";
  svg += "<text transform=\"translate(18 " + fmt(1, kTop + plot_h / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">AP@[.5:.95] (higher is better)</text>\n";
  // Frontier line through the Pareto-optimal models, by latency.
  std::vector<const CompareRow*> front;
  for (const CompareRow& r : rows) {
    if (r.ok && r.pareto) front.push_back(&r);
  }
  std::sort(front.begin(), front.end(),
            [](const CompareRow* a, const CompareRow* b) { return a->p50_ms < b->p50_ms; });
  if (front.size() > 1) {
    std::string points;
    for (const CompareRow* r : front) points += fmt(1, px(r->p50_ms)) + "," + fmt(1, py(r->ap)) + " ";
    svg +=
        "<polyline points=\"" + points + "\" fill=\"none\" stroke=\"#1f77b4\" stroke-dasharray=\"4 3\"/>\n";
  }
  for (const CompareRow& r : rows) {
    if (!r.ok) continue;
    const std::string colour = r.pareto ? "#1f77b4" : "#999999";
    svg += "<circle cx=\"" + fmt(1, px(r.p50_ms)) + "\" cy=\"" + fmt(1, py(r.ap)) + R"(" r="5" fill=")" +
           colour + "\"><title>" + xml_escape(r.model) + ": AP " + fmt(3, r.ap) + ", " + fmt(1, r.p50_ms) +
           " ms</title></circle>\n";
    svg += "<text x=\"" + fmt(1, px(r.p50_ms) + 8) + "\" y=\"" + fmt(1, py(r.ap) + 4) + "\">" +
           xml_escape(r.model) + "</text>\n";
  }
  // Legend: models not measured.
  double ly = kTop + 10;
  for (const CompareRow& r : rows) {
    if (r.ok) continue;
    svg += "<text x=\"" + fmt(1, kLeft + plot_w + 12) + "\" y=\"" + fmt(1, ly) + R"(" fill="#a00">)" +
           xml_escape(r.model) + ": not measured</text>\n";
    ly += 16;
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace visearch::eval
