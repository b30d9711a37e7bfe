#include "dataset/split.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "dataset/fs_util.h"

namespace visearch::dataset {

std::uint64_t SplitMix64::next() {
  state_ += 0x9E3779B97F4A7C15ULL;
  std::uint64_t z = state_;
  z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31U);
}

std::uint64_t SplitMix64::below(std::uint64_t bound) {
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % bound;
  std::uint64_t v = next();
  while (v >= limit) v = next();
  return v % bound;
}

Result<std::vector<double>> parse_ratios(std::string_view text) {
  std::vector<double> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    double v = 0;
    if (!detail::parse_double(detail::trim(text.substr(start, end - start)), v)) {
      return Unexpected{ErrorCode::kInvalidArgument,
                        "--ratios: '" + std::string(text) + "' is not a list of numbers like 0.8,0.1,0.1"};
    }
    out.push_back(v);
    start = end + 1;
  }
  return out;
}

Result<SplitPlan> plan_split(const Dataset& dataset, const std::vector<ImageFingerprint>& prints,
                             const SplitOptions& options, int near_duplicate_distance) {
  const std::vector<double>& ratios = options.ratios;
  if (ratios.empty() || ratios.size() > 16) {
    return Unexpected{ErrorCode::kInvalidArgument, "--ratios: give between 1 and 16 ratios"};
  }
  double sum = 0;
  for (double r : ratios) {
    if (!(r > 0) || r > 1)
      return Unexpected{ErrorCode::kInvalidArgument, "--ratios: every ratio must be in (0, 1]"};
    sum += r;
  }
  if (std::fabs(sum - 1.0) > 1e-6) {
    return Unexpected{ErrorCode::kInvalidArgument,
                      "--ratios must sum to 1 (they sum to " + detail::format_number(sum, 6) + ")"};
  }
  SplitPlan plan;
  plan.names = options.names;
  if (plan.names.empty()) {
    static const std::vector<std::string> default_names{"train", "val", "test"};
    for (std::size_t i = 0; i < ratios.size(); ++i) {
      plan.names.push_back(i < default_names.size() ? default_names[i] : "split" + std::to_string(i));
    }
  }
  if (plan.names.size() != ratios.size()) {
    return Unexpected{ErrorCode::kInvalidArgument, "--names: give one name per ratio"};
  }
  const std::size_t n_images = dataset.images.size();
  const std::size_t n_classes = dataset.classes.size();
  const std::size_t n_splits = ratios.size();

  // Duplicate components -> groups of image indices (in image order).
  std::vector<std::size_t> component(n_images);
  std::iota(component.begin(), component.end(), std::size_t{0});
  if (prints.size() == n_images) component = find_duplicates(prints, near_duplicate_distance).component;
  std::map<std::size_t, std::vector<std::size_t>> by_component;
  for (std::size_t i = 0; i < n_images; ++i) by_component[component[i]].push_back(i);
  struct Group {
    std::vector<std::size_t> images;
    std::vector<std::size_t> per_class;
    std::size_t boxes = 0;
    int rarest = -1;
  };
  std::vector<Group> groups;
  std::vector<std::size_t> totals(n_classes, 0);
  for (auto& [root, members] : by_component) {
    Group g;
    g.images = members;
    g.per_class.assign(n_classes, 0);
    for (std::size_t i : members) {
      for (const Annotation& a : dataset.images[i].annotations) {
        if (a.class_id >= 0 && static_cast<std::size_t>(a.class_id) < n_classes) {
          ++g.per_class[static_cast<std::size_t>(a.class_id)];
          ++totals[static_cast<std::size_t>(a.class_id)];
          ++g.boxes;
        }
      }
    }
    if (members.size() > 1) ++plan.groups;
    groups.push_back(std::move(g));
  }
  for (Group& g : groups) {
    for (std::size_t c = 0; c < n_classes; ++c) {
      if (g.per_class[c] > 0 && (g.rarest < 0 || totals[c] < totals[static_cast<std::size_t>(g.rarest)])) {
        g.rarest = static_cast<int>(c);
      }
    }
  }
  // Seeded Fisher-Yates shuffle, then a stable sort rarest class first (groups without boxes last).
  SplitMix64 rng(options.seed);
  for (std::size_t i = groups.size(); i > 1; --i) {
    const auto j = static_cast<std::size_t>(rng.below(i));
    std::swap(groups[i - 1], groups[j]);
  }
  std::stable_sort(groups.begin(), groups.end(), [&totals](const Group& a, const Group& b) {
    const std::size_t ta =
        a.rarest < 0 ? std::numeric_limits<std::size_t>::max() : totals[static_cast<std::size_t>(a.rarest)];
    const std::size_t tb =
        b.rarest < 0 ? std::numeric_limits<std::size_t>::max() : totals[static_cast<std::size_t>(b.rarest)];
    return ta < tb;
  });

  plan.assignment.assign(n_images, 0);
  plan.counts.assign(n_splits, SplitPlan::Counts{0, 0, std::vector<std::size_t>(n_classes, 0)});
  for (const Group& g : groups) {
    // Only splits still short of their image quota compete (keeps the image ratios), unless none is.
    std::vector<double> image_quota(n_splits);
    bool any_open = false;
    for (std::size_t s = 0; s < n_splits; ++s) {
      image_quota[s] = ratios[s] * static_cast<double>(n_images) - static_cast<double>(plan.counts[s].images);
      any_open = any_open || image_quota[s] > 0;
    }
    std::size_t best = 0;
    double best_class = -std::numeric_limits<double>::infinity();
    double best_images = -std::numeric_limits<double>::infinity();
    for (std::size_t s = 0; s < n_splits; ++s) {
      if (any_open && image_quota[s] <= 0) continue;
      double class_quota = 0;
      if (g.rarest >= 0) {
        const auto c = static_cast<std::size_t>(g.rarest);
        class_quota =
            ratios[s] * static_cast<double>(totals[c]) - static_cast<double>(plan.counts[s].per_class[c]);
      }
      if (class_quota > best_class + 1e-9 ||
          (std::fabs(class_quota - best_class) <= 1e-9 && image_quota[s] > best_images + 1e-9)) {
        best = s;
        best_class = class_quota;
        best_images = image_quota[s];
      }
    }
    SplitPlan::Counts& counts = plan.counts[best];
    counts.images += g.images.size();
    counts.boxes += g.boxes;
    for (std::size_t c = 0; c < n_classes; ++c) counts.per_class[c] += g.per_class[c];
    for (std::size_t i : g.images) plan.assignment[i] = static_cast<int>(best);
  }
  return plan;
}

nlohmann::json to_json(const SplitPlan& plan, const Dataset& dataset) {
  nlohmann::json splits = nlohmann::json::array();
  for (std::size_t s = 0; s < plan.names.size(); ++s) {
    nlohmann::json per_class = nlohmann::json::object();
    for (std::size_t c = 0; c < plan.counts[s].per_class.size(); ++c) {
      if (plan.counts[s].per_class[c] > 0) per_class[dataset.classes[c]] = plan.counts[s].per_class[c];
    }
    nlohmann::json images = nlohmann::json::array();
    for (std::size_t i = 0; i < plan.assignment.size(); ++i) {
      if (plan.assignment[i] == static_cast<int>(s)) {
        images.push_back(dataset.images[i].path.empty() ? dataset.images[i].file : dataset.images[i].path);
      }
    }
    splits.push_back({{"name", plan.names[s]},
                      {"images", plan.counts[s].images},
                      {"boxes", plan.counts[s].boxes},
                      {"per_class", std::move(per_class)},
                      {"files", std::move(images)}});
  }
  return {{"splits", std::move(splits)}, {"duplicate_groups", plan.groups}};
}

}  // namespace visearch::dataset
