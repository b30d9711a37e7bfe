// Deterministic, stratified train/val/test split that never separates duplicates.
//
// Images that are exact or near duplicates (image_hash.h) form one group and always land in the same
// split. Groups are shuffled with a seeded generator of our own (same seed, same data -> same split on
// every platform), then placed rarest-class first: each group goes to the split with the largest
// remaining quota for its rarest class among the splits still short of their image quota, ties broken
// by the remaining image quota. Images without boxes are placed by image quota only.
//
// Failure modes: kInvalidArgument for ratios that are not positive or do not sum to 1 (+-1e-6), or a
// name count that differs from the ratio count. Thread-safety: reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "dataset/dataset.h"
#include "dataset/image_hash.h"

namespace visearch::dataset {

struct SplitOptions {
  std::vector<double> ratios{0.8, 0.1, 0.1};
  std::vector<std::string> names;  // default: train, val, test (train, val for two ratios)
  std::uint64_t seed = 0;
};

struct SplitPlan {
  std::vector<std::string> names;
  std::vector<int> assignment;  // per image of the data set: index into names
  std::size_t groups = 0;       // duplicate groups with more than one image
  struct Counts {
    std::size_t images = 0;
    std::size_t boxes = 0;
    std::vector<std::size_t> per_class;
  };
  std::vector<Counts> counts;  // per split
};

// `prints` may be empty (no duplicate grouping) or hold one fingerprint per image.
Result<SplitPlan> plan_split(const Dataset& dataset, const std::vector<ImageFingerprint>& prints,
                             const SplitOptions& options,
                             int near_duplicate_distance = kDefaultNearDuplicateDistance);

// Parses "0.8,0.1,0.1".
Result<std::vector<double>> parse_ratios(std::string_view text);

nlohmann::json to_json(const SplitPlan& plan, const Dataset& dataset);

// A deterministic 64-bit generator (SplitMix64), identical on every platform and standard library.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  // Uniform in [0, bound), bound > 0, without modulo bias.
  std::uint64_t below(std::uint64_t bound);

 private:
  std::uint64_t state_;
};

}  // namespace visearch::dataset
