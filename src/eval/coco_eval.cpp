#include "eval/coco_eval.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <numeric>
#include <unordered_map>

namespace visearch::eval {
namespace {

// numpy.linspace(start, stop, num): y[i] = i * ((stop - start) / (num - 1)) + start, y[-1] = stop.
std::vector<double> linspace(double start, double stop, int num) {
  std::vector<double> out(static_cast<std::size_t>(num));
  const double step = (stop - start) / static_cast<double>(num - 1);
  for (int i = 0; i < num; ++i) out[static_cast<std::size_t>(i)] = static_cast<double>(i) * step + start;
  out.back() = stop;
  return out;
}

constexpr double kEpsilon = 2.220446049250313e-16;  // numpy.spacing(1)

// One ground-truth (image, category) cell: indices into the inputs, detections already sorted and cut.
struct Cell {
  std::vector<std::size_t> gts;
  std::vector<std::size_t> dts;
  std::vector<double> ious;  // dts.size() x gts.size(), row-major
};

// evaluateImg() output for one (category, area range, image).
struct ImageEval {
  bool present = false;
  std::size_t num_dt = 0;
  std::vector<double> dt_scores;
  std::vector<std::int64_t> dt_matches;  // T x D: matched ground-truth id, 0 = none
  std::vector<unsigned char> dt_ignore;  // T x D
  std::vector<unsigned char> gt_ignore;  // G (sorted: not ignored first)
};

// pycocotools maskUtils.iou for boxes (bbIou): crowd ground truth divides by the detection area.
double box_iou(const DetectionBox& d, const GroundTruthBox& g) {
  const double w = std::fmin(d.w + d.x, g.w + g.x) - std::fmax(d.x, g.x);
  if (w <= 0) return 0;
  const double h = std::fmin(d.h + d.y, g.h + g.y) - std::fmax(d.y, g.y);
  if (h <= 0) return 0;
  const double inter = w * h;
  const double da = d.w * d.h;
  const double ga = g.w * g.h;
  const double uni = g.iscrowd ? da : da + ga - inter;
  return inter / uni;
}

double mean_valid(const std::vector<double>& values) {
  double sum = 0;
  std::size_t n = 0;
  for (double v : values) {
    if (v > -1) {
      sum += v;
      ++n;
    }
  }
  return n == 0 ? -1.0 : sum / static_cast<double>(n);
}

}  // namespace

CocoEvalParams default_params() {
  CocoEvalParams p;
  p.iou_thresholds = linspace(0.5, 0.95, static_cast<int>(std::round((0.95 - 0.5) / 0.05)) + 1);
  p.recall_thresholds = linspace(0.0, 1.0, static_cast<int>(std::round((1.00 - 0.0) / 0.01)) + 1);
  return p;
}

Result<CocoMetrics> evaluate_bbox(const EvalInput& input, const CocoEvalParams& params) {
  CocoMetrics metrics;
  const std::vector<double>& iou_thrs = params.iou_thresholds;
  const std::vector<double>& rec_thrs = params.recall_thresholds;
  if (iou_thrs.empty() || rec_thrs.empty() || params.max_detections.empty() || params.area_ranges.empty()) {
    return Unexpected{ErrorCode::kInvalidArgument, "evaluation parameters must not be empty"};
  }
  // Sorted unique image and category ids (numpy.unique).
  std::vector<std::int64_t> img_ids = input.image_ids;
  std::sort(img_ids.begin(), img_ids.end());
  img_ids.erase(std::unique(img_ids.begin(), img_ids.end()), img_ids.end());
  std::vector<EvalCategory> cats = input.categories;
  std::stable_sort(cats.begin(), cats.end(),
                   [](const EvalCategory& a, const EvalCategory& b) { return a.id < b.id; });
  cats.erase(std::unique(cats.begin(), cats.end(),
                         [](const EvalCategory& a, const EvalCategory& b) { return a.id == b.id; }),
             cats.end());
  std::unordered_map<std::int64_t, std::size_t> img_index;
  for (std::size_t i = 0; i < img_ids.size(); ++i) img_index[img_ids[i]] = i;
  std::unordered_map<std::int64_t, std::size_t> cat_index;
  for (std::size_t k = 0; k < cats.size(); ++k) cat_index[cats[k].id] = k;
  // NOLINTBEGIN(readability-identifier-naming): pycocotools' names (I, K, T, R, A, M)
  const std::size_t I = img_ids.size();
  const std::size_t K = cats.size();
  const std::size_t T = iou_thrs.size();
  const std::size_t R = rec_thrs.size();
  const std::size_t A = params.area_ranges.size();
  const std::size_t M = params.max_detections.size();
  // NOLINTEND(readability-identifier-naming)
  const auto max_det_last = static_cast<std::size_t>(std::max(0, params.max_detections.back()));
  metrics.images = I;

  // _prepare: group by (image, category) in input order.
  std::vector<Cell> cells(I * K);
  bool id_zero = false;
  for (std::size_t n = 0; n < input.ground_truth.size(); ++n) {
    const GroundTruthBox& g = input.ground_truth[n];
    const auto ii = img_index.find(g.image_id);
    const auto kk = cat_index.find(g.category_id);
    if (ii == img_index.end() || kk == cat_index.end()) continue;
    if (!std::isfinite(g.x) || !std::isfinite(g.y) || !std::isfinite(g.w) || !std::isfinite(g.h) ||
        !std::isfinite(g.area)) {
      return Unexpected{ErrorCode::kInvalidArgument,
                        "ground truth id " + std::to_string(g.id) + " has a non-finite value"};
    }
    id_zero = id_zero || g.id == 0;
    cells[ii->second * K + kk->second].gts.push_back(n);
    ++metrics.ground_truth;
  }
  if (id_zero) {
    metrics.warnings.emplace_back(
        "a ground-truth annotation has id 0: as in pycocotools, detections matched to it count as false "
        "positives; "
        "renumber annotation ids from 1");
  }
  for (std::size_t n = 0; n < input.detections.size(); ++n) {
    const DetectionBox& d = input.detections[n];
    if (img_index.find(d.image_id) == img_index.end()) {
      return Unexpected{ErrorCode::kInvalidArgument,
                        "detections name image id " + std::to_string(d.image_id) +
                            ", which is not in the ground truth (pycocotools refuses such results too)"};
    }
    if (!std::isfinite(d.x) || !std::isfinite(d.y) || !std::isfinite(d.w) || !std::isfinite(d.h) ||
        !std::isfinite(d.score)) {
      return Unexpected{ErrorCode::kInvalidArgument,
                        "detection " + std::to_string(n) + " has a non-finite value"};
    }
    const auto kk = cat_index.find(d.category_id);
    if (kk == cat_index.end()) continue;
    cells[img_index[d.image_id] * K + kk->second].dts.push_back(n);
    ++metrics.detections;
  }
  // computeIoU: sort detections (stable, descending score), keep maxDets[-1].
  for (Cell& cell : cells) {
    std::stable_sort(cell.dts.begin(), cell.dts.end(), [&input](std::size_t a, std::size_t b) {
      return input.detections[a].score > input.detections[b].score;
    });
    if (cell.dts.size() > max_det_last) cell.dts.resize(max_det_last);
    if (cell.dts.empty() || cell.gts.empty()) continue;
    cell.ious.resize(cell.dts.size() * cell.gts.size());
    for (std::size_t d = 0; d < cell.dts.size(); ++d) {
      for (std::size_t g = 0; g < cell.gts.size(); ++g) {
        cell.ious[d * cell.gts.size() + g] =
            box_iou(input.detections[cell.dts[d]], input.ground_truth[cell.gts[g]]);
      }
    }
  }

  // evaluateImg for every (category, area, image) with maxDet = maxDets[-1].
  std::vector<ImageEval> evals(K * A * I);
  for (std::size_t k = 0; k < K; ++k) {
    for (std::size_t a = 0; a < A; ++a) {
      const double lo = params.area_ranges[a][0];
      const double hi = params.area_ranges[a][1];
      for (std::size_t i = 0; i < I; ++i) {
        const Cell& cell = cells[i * K + k];
        if (cell.gts.empty() && cell.dts.empty()) continue;
        ImageEval& e = evals[(k * A + a) * I + i];
        e.present = true;
        // NOLINTNEXTLINE(readability-identifier-naming): pycocotools' names
        const std::size_t G = cell.gts.size();
        std::vector<unsigned char> ignore(G);
        for (std::size_t g = 0; g < G; ++g) {
          const GroundTruthBox& gt = input.ground_truth[cell.gts[g]];
          ignore[g] = (gt.iscrowd || gt.ignore || gt.area < lo || gt.area > hi) ? 1 : 0;
        }
        std::vector<std::size_t> gt_order(G);
        std::iota(gt_order.begin(), gt_order.end(), std::size_t{0});
        std::stable_sort(gt_order.begin(), gt_order.end(),
                         [&ignore](std::size_t x, std::size_t y) { return ignore[x] < ignore[y]; });
        // NOLINTNEXTLINE(readability-identifier-naming): pycocotools' names
        const std::size_t D = cell.dts.size();  // already cut to maxDets[-1]
        e.num_dt = D;
        e.gt_ignore.resize(G);
        std::vector<unsigned char> crowd(G);
        for (std::size_t g = 0; g < G; ++g) {
          e.gt_ignore[g] = ignore[gt_order[g]];
          crowd[g] = input.ground_truth[cell.gts[gt_order[g]]].iscrowd ? 1 : 0;
        }
        e.dt_scores.resize(D);
        for (std::size_t d = 0; d < D; ++d) e.dt_scores[d] = input.detections[cell.dts[d]].score;
        e.dt_matches.assign(T * D, 0);
        e.dt_ignore.assign(T * D, 0);
        if (!cell.ious.empty()) {
          std::vector<std::int64_t> gt_matches(T * G, 0);
          for (std::size_t t = 0; t < T; ++t) {
            for (std::size_t d = 0; d < D; ++d) {
              double iou = std::min(iou_thrs[t], 1 - 1e-10);
              std::ptrdiff_t m = -1;
              for (std::size_t g = 0; g < G; ++g) {
                if (gt_matches[t * G + g] > 0 && crowd[g] == 0) continue;
                if (m > -1 && e.gt_ignore[static_cast<std::size_t>(m)] == 0 && e.gt_ignore[g] == 1) break;
                const double value = cell.ious[d * G + gt_order[g]];
                if (value < iou) continue;
                iou = value;
                m = static_cast<std::ptrdiff_t>(g);
              }
              if (m == -1) continue;
              const auto mg = static_cast<std::size_t>(m);
              e.dt_ignore[t * D + d] = e.gt_ignore[mg];
              e.dt_matches[t * D + d] = input.ground_truth[cell.gts[gt_order[mg]]].id;
              gt_matches[t * G + mg] = static_cast<std::int64_t>(cell.dts[d]) + 1;  // loadRes ids start at 1
            }
          }
        }
        for (std::size_t d = 0; d < D; ++d) {
          const DetectionBox& det = input.detections[cell.dts[d]];
          const double area = det.w * det.h;
          const bool outside = area < lo || area > hi;
          for (std::size_t t = 0; t < T; ++t) {
            if (e.dt_matches[t * D + d] == 0 && outside) e.dt_ignore[t * D + d] = 1;
          }
        }
      }
    }
  }

  // accumulate.
  std::vector<double> precision(T * R * K * A * M, -1.0);
  std::vector<double> recall(T * K * A * M, -1.0);
  const auto p_index = [&](std::size_t t, std::size_t r, std::size_t k, std::size_t a, std::size_t m) {
    return (((t * R + r) * K + k) * A + a) * M + m;
  };
  const auto r_index = [&](std::size_t t, std::size_t k, std::size_t a, std::size_t m) {
    return ((t * K + k) * A + a) * M + m;
  };
  for (std::size_t k = 0; k < K; ++k) {
    for (std::size_t a = 0; a < A; ++a) {
      for (std::size_t m = 0; m < M; ++m) {
        const auto max_det = static_cast<std::size_t>(std::max(0, params.max_detections[m]));
        struct Ref {
          const ImageEval* e;
          std::size_t d;
        };
        std::vector<Ref> refs;
        std::size_t npig = 0;
        bool any = false;
        for (std::size_t i = 0; i < I; ++i) {
          const ImageEval& e = evals[(k * A + a) * I + i];
          if (!e.present) continue;
          any = true;
          for (std::size_t d = 0; d < std::min(max_det, e.num_dt); ++d) refs.push_back(Ref{&e, d});
          for (unsigned char ig : e.gt_ignore) npig += ig == 0 ? 1 : 0;
        }
        if (!any || npig == 0) continue;
        std::stable_sort(refs.begin(), refs.end(), [](const Ref& x, const Ref& y) {
          return x.e->dt_scores[x.d] > y.e->dt_scores[y.d];
        });
        const std::size_t nd = refs.size();
        std::vector<double> rc(nd);
        std::vector<double> pr(nd);
        for (std::size_t t = 0; t < T; ++t) {
          double tp = 0;
          double fp = 0;
          for (std::size_t j = 0; j < nd; ++j) {
            const ImageEval& e = *refs[j].e;
            const std::size_t idx = t * e.num_dt + refs[j].d;
            if (e.dt_ignore[idx] == 0) {
              if (e.dt_matches[idx] != 0) {
                tp += 1;
              } else {
                fp += 1;
              }
            }
            rc[j] = tp / static_cast<double>(npig);
            pr[j] = tp / (fp + tp + kEpsilon);
          }
          recall[r_index(t, k, a, m)] = nd > 0 ? rc[nd - 1] : 0.0;
          for (std::size_t j = nd; j-- > 1;) {
            if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
          }
          for (std::size_t r = 0; r < R; ++r) {
            const auto pi =
                static_cast<std::size_t>(std::lower_bound(rc.begin(), rc.end(), rec_thrs[r]) - rc.begin());
            precision[p_index(t, r, k, a, m)] = pi < nd ? pr[pi] : 0.0;
          }
        }
      }
    }
  }

  // summarize.
  const auto find_area = [&](double lo, double hi) -> std::ptrdiff_t {
    for (std::size_t a = 0; a < A; ++a) {
      if (params.area_ranges[a][0] == lo && params.area_ranges[a][1] == hi)
        return static_cast<std::ptrdiff_t>(a);
    }
    return -1;
  };
  const auto find_max_det = [&](int n) -> std::ptrdiff_t {
    for (std::size_t m = 0; m < M; ++m) {
      if (params.max_detections[m] == n) return static_cast<std::ptrdiff_t>(m);
    }
    return -1;
  };
  const auto find_iou = [&](double thr) -> std::ptrdiff_t {
    for (std::size_t t = 0; t < T; ++t) {
      if (iou_thrs[t] == thr) return static_cast<std::ptrdiff_t>(t);
    }
    return -1;
  };
  // ap: mean of precision (or recall) over the selected thresholds and every category, -1 values skipped.
  const auto summarize = [&](bool ap, double iou_thr, std::ptrdiff_t a, std::ptrdiff_t m,
                             std::ptrdiff_t only_k) {
    std::vector<double> values;
    if (a < 0 || m < 0) return -1.0;
    const std::ptrdiff_t t_only = iou_thr > 0 ? find_iou(iou_thr) : -2;
    if (t_only == -1) return -1.0;
    for (std::size_t t = 0; t < T; ++t) {
      if (t_only >= 0 && static_cast<std::ptrdiff_t>(t) != t_only) continue;
      for (std::size_t k = 0; k < K; ++k) {
        if (only_k >= 0 && static_cast<std::ptrdiff_t>(k) != only_k) continue;
        const auto aa = static_cast<std::size_t>(a);
        const auto mm = static_cast<std::size_t>(m);
        if (ap) {
          for (std::size_t r = 0; r < R; ++r) values.push_back(precision[p_index(t, r, k, aa, mm)]);
        } else {
          values.push_back(recall[r_index(t, k, aa, mm)]);
        }
      }
    }
    return mean_valid(values);
  };
  const std::ptrdiff_t all = find_area(0, 1e10);
  const std::ptrdiff_t small = find_area(0, 1024);
  const std::ptrdiff_t medium = find_area(1024, 9216);
  const std::ptrdiff_t large = find_area(9216, 1e10);
  const std::ptrdiff_t m1 = find_max_det(1);
  const std::ptrdiff_t m10 = find_max_det(10);
  const std::ptrdiff_t m100 = find_max_det(100);
  metrics.stats = {summarize(true, 0, all, m100, -1),     summarize(true, 0.5, all, m100, -1),
                   summarize(true, 0.75, all, m100, -1),  summarize(true, 0, small, m100, -1),
                   summarize(true, 0, medium, m100, -1),  summarize(true, 0, large, m100, -1),
                   summarize(false, 0, all, m1, -1),      summarize(false, 0, all, m10, -1),
                   summarize(false, 0, all, m100, -1),    summarize(false, 0, small, m100, -1),
                   summarize(false, 0, medium, m100, -1), summarize(false, 0, large, m100, -1)};
  for (std::size_t k = 0; k < K; ++k) {
    CategoryMetrics c;
    c.id = cats[k].id;
    c.name = cats[k].name;
    const auto kk = static_cast<std::ptrdiff_t>(k);
    c.ap = summarize(true, 0, all, m100, kk);
    c.ap50 = summarize(true, 0.5, all, m100, kk);
    c.ap75 = summarize(true, 0.75, all, m100, kk);
    c.ar100 = summarize(false, 0, all, m100, kk);
    for (std::size_t i = 0; i < I; ++i) {
      const Cell& cell = cells[i * K + k];
      for (std::size_t g : cell.gts) {
        const GroundTruthBox& gt = input.ground_truth[g];
        if (!gt.iscrowd && !gt.ignore) ++c.ground_truth;
      }
      c.detections += cell.dts.size();
    }
    metrics.per_category.push_back(std::move(c));
  }
  return metrics;
}

nlohmann::json to_json(const CocoMetrics& metrics) {
  nlohmann::json stats = nlohmann::json::object();
  for (std::size_t i = 0; i < metrics.stats.size(); ++i)
    stats[std::string(CocoMetrics::kNames[i])] = metrics.stats[i];
  nlohmann::json per_class = nlohmann::json::array();
  for (const CategoryMetrics& c : metrics.per_category) {
    per_class.push_back({{"category_id", c.id},
                         {"name", c.name},
                         {"AP", c.ap},
                         {"AP50", c.ap50},
                         {"AP75", c.ap75},
                         {"AR100", c.ar100},
                         {"ground_truth", c.ground_truth},
                         {"detections", c.detections}});
  }
  return {{"stats", std::move(stats)},        {"per_class", std::move(per_class)},
          {"images", metrics.images},         {"ground_truth_boxes", metrics.ground_truth},
          {"detections", metrics.detections}, {"warnings", metrics.warnings}};
}

std::string to_text(const CocoMetrics& metrics, bool per_class) {
  static constexpr std::array<const char*, 12> kLines{
      " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]",
      " Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ]",
      " Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ]",
      " Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ]",
      " Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ]",
      " Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]",
      " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ]",
      " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ]",
      " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]",
      " Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ]",
      " Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ]",
      " Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]"};
  std::string out;
  char line[256];
  for (std::size_t i = 0; i < kLines.size(); ++i) {
    const int n = std::snprintf(line, sizeof line, "%s = %.3f\n", kLines[i], metrics.stats[i]);
    if (n > 0) out.append(line, static_cast<std::size_t>(n));
  }
  if (per_class && !metrics.per_category.empty()) {
    out += "\n  class                      AP    AP50    AP75   AR100    GT   dets\n";
    for (const CategoryMetrics& c : metrics.per_category) {
      if (c.ground_truth == 0 && c.detections == 0) continue;
      const auto fmt = [](double v) {
        char b[16];
        if (v < 0) return std::string("     -");
        std::snprintf(b, sizeof b, "%6.3f", v);
        return std::string(b);
      };
      const int n = std::snprintf(line, sizeof line, "  %-22.22s %s  %s  %s  %s %5zu %6zu\n", c.name.c_str(),
                                  fmt(c.ap).c_str(), fmt(c.ap50).c_str(), fmt(c.ap75).c_str(),
                                  fmt(c.ar100).c_str(), c.ground_truth, c.detections);
      if (n > 0) out.append(line, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof line - 1));
    }
  }
  for (const std::string& w : metrics.warnings) out += "warning: " + w + "\n";
  return out;
}

}  // namespace visearch::eval
