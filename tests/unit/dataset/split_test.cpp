#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "dataset/check.h"
#include "dataset/split.h"
#include "test_util.h"

namespace visearch::dataset {
namespace {

namespace fs = std::filesystem;

// 100 images: class 0 on every image, class 1 ("rare") on 10, class 2 on 3.
Dataset synthetic() {
  Dataset ds;
  ds.classes = {"common", "rare", "rarest"};
  for (int i = 0; i < 100; ++i) {
    ImageRecord image;
    image.file = "img" + std::to_string(i) + ".jpg";
    image.annotations.push_back(Annotation{});
    if (i % 10 == 0) image.annotations.push_back(Annotation{1, {}, false, {}, {}, {}, "", {}, {}, {}, 0});
    if (i % 33 == 1) image.annotations.push_back(Annotation{2, {}, false, {}, {}, {}, "", {}, {}, {}, 0});
    ds.images.push_back(std::move(image));
  }
  return ds;
}

TEST(Split, SameSeedSameSplitOtherSeedOtherSplit) {
  const Dataset ds = synthetic();
  auto a = plan_split(ds, {}, {{0.8, 0.1, 0.1}, {}, 42});
  auto b = plan_split(ds, {}, {{0.8, 0.1, 0.1}, {}, 42});
  auto c = plan_split(ds, {}, {{0.8, 0.1, 0.1}, {}, 43});
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->assignment, b->assignment);
  EXPECT_NE(a->assignment, c->assignment);
  EXPECT_EQ(a->names, (std::vector<std::string>{"train", "val", "test"}));
}

TEST(Split, RatiosAndStratification) {
  const Dataset ds = synthetic();
  auto plan = plan_split(ds, {}, {{0.8, 0.1, 0.1}, {}, 7});
  ASSERT_TRUE(plan);
  EXPECT_NEAR(static_cast<double>(plan->counts[0].images), 80, 2);
  EXPECT_NEAR(static_cast<double>(plan->counts[1].images), 10, 2);
  EXPECT_NEAR(static_cast<double>(plan->counts[2].images), 10, 2);
  // The 10 "rare" boxes: 8 / 1 / 1. The 3 "rarest": all three splits get one (quota order).
  EXPECT_EQ(plan->counts[0].per_class[1], 8U);
  EXPECT_EQ(plan->counts[1].per_class[1], 1U);
  EXPECT_EQ(plan->counts[2].per_class[1], 1U);
  std::size_t total = 0;
  for (const auto& c : plan->counts) total += c.images;
  EXPECT_EQ(total, 100U);
}

TEST(Split, DuplicatesNeverStraddleSplits) {
  testing::TempDir dir;
  testing::write_text(dir.path() / "classes.txt", "a\n");
  for (int i = 0; i < 30; ++i) {
    const std::string stem = "img" + std::to_string(i);
    // Every third image is a re-encoded copy of the previous one.
    testing::write_jpeg(dir.path() / (stem + ".jpg"), 96, 96,
                        static_cast<std::uint32_t>(i % 3 == 2 ? i - 1 : i), i % 3 == 2 ? 50 : 90);
    testing::write_text(dir.path() / (stem + ".txt"), "0 0.5 0.5 0.5 0.5\n");
  }
  std::vector<ImageFingerprint> prints;
  auto ds = load_with_fingerprints(dir.str(), {}, prints);
  ASSERT_TRUE(ds) << ds.error().message;
  ASSERT_EQ(prints.size(), 30U);
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    auto plan = plan_split(*ds, prints, {{0.5, 0.5}, {"a", "b"}, seed});
    ASSERT_TRUE(plan);
    EXPECT_EQ(plan->groups, 10U);
    for (std::size_t i = 0; i < ds->images.size(); ++i) {
      const std::string stem = fs::path(ds->images[i].file).stem().string();
      const int n = std::stoi(stem.substr(3));
      if (n % 3 != 2) continue;
      // Find its original (n - 1).
      for (std::size_t j = 0; j < ds->images.size(); ++j) {
        if (fs::path(ds->images[j].file).stem().string() == "img" + std::to_string(n - 1)) {
          EXPECT_EQ(plan->assignment[i], plan->assignment[j]) << stem << " seed " << seed;
        }
      }
    }
  }
}

TEST(Split, BadRatiosAreErrors) {
  const Dataset ds = synthetic();
  EXPECT_FALSE(plan_split(ds, {}, {{0.8, 0.1}, {}, 0}));
  EXPECT_FALSE(plan_split(ds, {}, {{1.2, -0.2}, {}, 0}));
  EXPECT_FALSE(plan_split(ds, {}, {{0.5, 0.5}, {"only-one"}, 0}));
  EXPECT_FALSE(parse_ratios("0.8,x"));
  auto ok = parse_ratios("0.7, 0.3");
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, (std::vector<double>{0.7, 0.3}));
}

TEST(Split, GeneratorIsFixedAcrossPlatforms) {
  SplitMix64 rng(1234567);
  EXPECT_EQ(rng.next(), 6457827717110365317ULL);
  EXPECT_EQ(rng.next(), 3203168211198807973ULL);
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(rng.below(7));
  EXPECT_EQ(seen.size(), 7U);
}

}  // namespace
}  // namespace visearch::dataset
