// EmbeddingAdaptation: the file round trip and its refusal of damaged and older files, the projection's
// cosine (mix of the adapted and the embedder's cosine; stacked heads average theirs; the classifier's
// softmax output), and SearchService
// using an adaptation only while it is fresh (same catalog generation, same embedder), noticing a new file
// without a restart.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "search/adaptation.h"
#include "search/search_service.h"
#include "search/vector_index.h"
#include "test_util.h"

namespace visearch::search {
namespace {

using testing::axis_vector;
using testing::TempDir;

constexpr int kDim = 8;

// 8-d -> 2-d: axes 0 and 2 (a cup and a bowl that look alike to the shop) both map to (1, 0); axes 1, 3,
// 4 map to (0, 1).
EmbeddingAdaptation cup_bowl_adaptation(std::int64_t generation, double mix, const std::string& embedder) {
  EmbeddingAdaptation a;
  a.generation = generation;
  a.embedder = embedder;
  a.in_dim = kDim;
  a.out_dim = 2;
  a.mix = mix;
  a.labels = {"bowls", "mugs & cups"};
  a.weight.assign(2 * kDim, 0.F);
  a.weight[0] = 1.F;
  a.weight[2] = 1.F;
  a.weight[kDim + 1] = 1.F;
  a.weight[kDim + 3] = 1.F;
  a.weight[kDim + 4] = 1.F;
  a.bias = {0.F, 0.F};
  a.prototypes = {1.F, 0.F, 0.F, 1.F};
  return a;
}

TEST(EmbeddingAdaptation, RoundTripsThroughItsFile) {
  TempDir dir;
  EmbeddingAdaptation a = cup_bowl_adaptation(7, 0.7, "mobilenetv2_embed");
  a.report = {{"heldout_precision_at_5", 0.8}};
  ASSERT_TRUE(a.save(dir.file("adaptation.bin")));
  auto b = EmbeddingAdaptation::load(dir.file("adaptation.bin"));
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->generation, 7);
  EXPECT_EQ(b->embedder, "mobilenetv2_embed");
  EXPECT_EQ(b->in_dim, kDim);
  EXPECT_EQ(b->out_dim, 2);
  EXPECT_DOUBLE_EQ(b->mix, 0.7);
  EXPECT_EQ(b->labels, a.labels);
  EXPECT_EQ(b->weight, a.weight);
  EXPECT_EQ(b->bias, a.bias);
  EXPECT_EQ(b->report, a.report);
  EXPECT_EQ(b->heads, 1);
  EXPECT_EQ(EmbeddingAdaptation::load(dir.file("none.bin")).error().code, ErrorCode::kNotFound);

  // Stacked heads: the count, and every head's rows, travel.
  const EmbeddingAdaptation stacked =
      EmbeddingAdaptation::stack({a, cup_bowl_adaptation(7, 0.7, "mobilenetv2_embed")});
  ASSERT_TRUE(stacked.save(dir.file("stacked.bin")));
  auto c = EmbeddingAdaptation::load(dir.file("stacked.bin"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->heads, 2);
  EXPECT_EQ(c->out_dim, 4);
  EXPECT_EQ(c->weight, stacked.weight);
  EXPECT_EQ(c->bias, stacked.bias);
  EXPECT_EQ(c->prototypes, stacked.prototypes);
}

TEST(EmbeddingAdaptation, FilesOfTheOlderLayoutAreRefusedAsSuch) {
  // The first layout had no "heads": read as one, its rows would be misread; it is refused by name.
  std::string older = cup_bowl_adaptation(1, 0.5, "e").serialize();
  older.replace(0, 8, "VSADAPT1");
  auto r = EmbeddingAdaptation::parse(older, "old.bin");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_NE(r.error().message.find("older format"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("visearch catalog adapt"), std::string::npos);
  // Heads that do not divide the adapted dimensions.
  EmbeddingAdaptation odd = cup_bowl_adaptation(1, 0.5, "e");
  odd.heads = 3;
  EXPECT_FALSE(EmbeddingAdaptation::parse(odd.serialize(), "odd.bin"));
}

TEST(EmbeddingAdaptation, DamagedFilesAreErrorsNeverCrashes) {
  const std::string good = cup_bowl_adaptation(1, 0.5, "e").serialize();
  // Every truncation, and single-byte damage all over the header.
  for (std::size_t n = 0; n < good.size(); n += 7) {
    auto r = EmbeddingAdaptation::parse(std::string_view(good).substr(0, n), "t");
    EXPECT_FALSE(r) << n;
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::kIo);
    }
  }
  for (std::size_t i = 0; i < 60 && i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x5A);
    static_cast<void>(EmbeddingAdaptation::parse(bad, "t"));  // must not crash; may happen to parse
  }
  std::string extra = good + "x";
  EXPECT_FALSE(EmbeddingAdaptation::parse(extra, "t"));
  std::string nan = good;
  const float q = std::nanf("");
  std::memcpy(nan.data() + nan.size() - sizeof(float), &q, sizeof q);
  auto r = EmbeddingAdaptation::parse(nan, "t");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("visearch catalog adapt"), std::string::npos);
}

TEST(EmbeddingAdaptation, CosineMixesTheAdaptedAndTheEmbeddersSpaces) {
  const EmbeddingAdaptation a = cup_bowl_adaptation(1, 0.7, "e");
  const std::vector<float> cup = axis_vector(kDim, 0);
  const std::vector<float> bowl = axis_vector(kDim, 2);
  const std::vector<float> tv = axis_vector(kDim, 3);
  const std::vector<float> pc = a.project(cup);
  const std::vector<float> pb = a.project(bowl);
  const std::vector<float> pt = a.project(tv);
  ASSERT_EQ(pc.size(), static_cast<std::size_t>(2 + kDim));
  EXPECT_NEAR(dot(pc.data(), pc.data(), pc.size()), 1.0, 1e-6);
  // cos_adapted(cup, bowl) = 1, cos_embedder = 0 -> 0.7; cup vs tv: 0 and 0 -> 0.
  EXPECT_NEAR(dot(pc.data(), pb.data(), pc.size()), 0.7, 1e-6);
  EXPECT_NEAR(dot(pc.data(), pt.data(), pc.size()), 0.0, 1e-6);
  const EmbeddingAdaptation only = cup_bowl_adaptation(1, 1.0, "e");
  EXPECT_EQ(only.project(cup).size(), 2U);
}

TEST(EmbeddingAdaptation, StackedHeadsAverageTheirCosines) {
  // Head 1 sees cup = bowl (cosine 1); head 2 sees them apart (0): the stack's adapted cosine is 0.5.
  const EmbeddingAdaptation same = cup_bowl_adaptation(1, 1.0, "e");
  EmbeddingAdaptation apart = same;
  apart.weight.assign(2 * kDim, 0.F);
  apart.weight[0] = 1.F;         // cup -> (1, 0)
  apart.weight[kDim + 2] = 1.F;  // bowl -> (0, 1)
  const EmbeddingAdaptation both = EmbeddingAdaptation::stack({same, apart});
  ASSERT_EQ(both.heads, 2);
  const std::vector<float> cup = axis_vector(kDim, 0);
  const std::vector<float> bowl = axis_vector(kDim, 2);
  const std::vector<float> pc = both.project(cup);
  const std::vector<float> pb = both.project(bowl);
  ASSERT_EQ(pc.size(), 4U);
  EXPECT_NEAR(dot(pc.data(), pc.data(), pc.size()), 1.0, 1e-6);
  EXPECT_NEAR(dot(pc.data(), pb.data(), pc.size()), 0.5, 1e-6);
  // A product drawn fully to its prototype is the stacked prototype (unit length).
  const std::vector<float> anchored = [&] {
    EmbeddingAdaptation a = both;
    a.anchor = 0.0;
    return a.project(bowl, 0);
  }();
  EXPECT_NEAR(dot(anchored.data(), anchored.data(), anchored.size()), 1.0, 1e-6);
  for (std::size_t r = 0; r < 4; ++r) EXPECT_NEAR(anchored[r], both.prototypes[r], 1e-6) << r;
}

// The classifier's output: z = normalise(softmax(W x + b)) against one-hot prototypes, so a query's
// adapted cosine with a product of category c (anchor 0) is p_c / |p|, the same order as the categories'
// probabilities; the file keeps the output and refuses an unknown one.
TEST(EmbeddingAdaptation, TheClassifiersOutputScoresEachCategoryByItsProbability) {
  EmbeddingAdaptation a = cup_bowl_adaptation(1, 0.5, "e");
  a.output = "softmax";
  a.anchor = 0.0;
  a.weight.assign(2 * kDim, 0.F);
  a.weight[0] = 2.F;         // axis 0: logits (2, 0)
  a.weight[kDim + 1] = 1.F;  // axis 1: logits (0, 1)
  a.prototypes = {1.F, 0.F, 0.F, 1.F};
  const std::vector<float> x = axis_vector(kDim, 0);
  const std::vector<float> q = a.project(x);
  ASSERT_EQ(q.size(), static_cast<std::size_t>(2 + kDim));
  EXPECT_NEAR(dot(q.data(), q.data(), q.size()), 1.0, 1e-6);
  const double p0 = std::exp(2.0) / (std::exp(2.0) + 1.0);
  const double p1 = 1.0 / (std::exp(2.0) + 1.0);
  const double norm = std::sqrt(p0 * p0 + p1 * p1);
  // A product of category 0 (any photo: it is drawn to its one-hot prototype) vs one of category 1; the
  // embedder's part is the product photo's own cosine with the query (1 for the same axis, 0 otherwise).
  const std::vector<float> bowl = a.project(axis_vector(kDim, 5), 0);
  const std::vector<float> cup = a.project(axis_vector(kDim, 0), 1);
  EXPECT_NEAR(dot(q.data(), bowl.data(), q.size()), 0.5 * p0 / norm, 1e-5);
  EXPECT_NEAR(dot(q.data(), cup.data(), q.size()), 0.5 * p1 / norm + 0.5, 1e-5);

  const std::string bytes = a.serialize();
  auto back = EmbeddingAdaptation::parse(bytes, "t");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->output, "softmax");
  EXPECT_EQ(back->project(x), q);
  EmbeddingAdaptation unknown = a;
  unknown.output = "relu";
  auto r = EmbeddingAdaptation::parse(unknown.serialize(), "t");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("unknown output"), std::string::npos) << r.error().message;
  // A file written before the field existed is the projection's.
  const std::string with_field = cup_bowl_adaptation(1, 0.5, "e").serialize();
  std::uint32_t length = 0;
  std::memcpy(&length, with_field.data() + 8, sizeof length);
  nlohmann::json header = nlohmann::json::parse(with_field.substr(12, length));
  ASSERT_EQ(header.erase("output"), 1U);
  const std::string text = header.dump();
  const auto new_length = static_cast<std::uint32_t>(text.size());
  std::string without = with_field.substr(0, 8);
  without.append(reinterpret_cast<const char*>(&new_length), sizeof new_length);  // NOLINT
  without += text + with_field.substr(12 + length);
  auto older = EmbeddingAdaptation::parse(without, "t");
  ASSERT_TRUE(older) << older.error().message;
  EXPECT_EQ(older->output, "cosine");
}

// An attribute part: a product's declared value is its one-hot vector, one that declares none has what its
// photo shows; the adapted cosine is (1 - w) * category + w * attribute. The file keeps both and refuses
// values out of range.
TEST(EmbeddingAdaptation, AnAttributeIsItsOwnShareOfTheAdaptedCosine) {
  EmbeddingAdaptation a = cup_bowl_adaptation(1, 1.0, "e");
  a.output = "softmax";
  a.anchor = 0.0;
  // Colour from axes 5 (red) and 6 (blue): logits (4 x5, 4 x6).
  std::vector<float> rows(2 * kDim, 0.F);
  rows[5] = 4.F;
  rows[kDim + 6] = 4.F;
  a.add_attribute({"color", {"red", "blue"}, 0.25}, rows, {0.F, 0.F});
  ASSERT_EQ(a.out_dim, 4);
  ASSERT_EQ(a.category_rows(), 2);
  ASSERT_EQ(a.prototypes.size(), 2U * 4U);
  a.product_attributes = {{"red-bowl", {0}}, {"plain-bowl", {-1}}};
  // A query: a bowl-ish photo (axis 0 -> category row 0) that looks red (axis 5).
  std::vector<float> x(kDim, 0.F);
  x[0] = 0.6F;
  x[5] = 0.8F;
  const std::vector<float> q = a.project(x);
  ASSERT_EQ(q.size(), 4U);
  EXPECT_NEAR(dot(q.data(), q.data(), q.size()), 1.0, 1e-6);
  const std::vector<float> red = a.project(axis_vector(kDim, 0), 0, a.attributes_of("red-bowl"));
  std::vector<float> blue_photo(kDim, 0.F);
  blue_photo[6] = 1.F;
  const std::vector<float> undeclared = a.project(blue_photo, 0, a.attributes_of("plain-bowl"));
  const std::vector<int> blue_value = {1};
  const std::vector<float> blue = a.project(axis_vector(kDim, 0), 0, &blue_value);
  // The category parts agree (both bowls): what differs is the colour.
  const double q_bowl = std::exp(0.6) / std::sqrt(std::exp(1.2) + 1.0);  // q's category part . (1, 0)
  const double q_red = std::exp(3.2) / std::sqrt(std::exp(6.4) + 1.0);   // q's colour part . (1, 0)
  const double q_blue = 1.0 / std::sqrt(std::exp(6.4) + 1.0);
  EXPECT_NEAR(dot(q.data(), red.data(), q.size()), 0.75 * q_bowl + 0.25 * q_red, 1e-5);
  EXPECT_NEAR(dot(q.data(), blue.data(), q.size()), 0.75 * q_bowl + 0.25 * q_blue, 1e-5);
  // Declaring nothing: the photo's own colour (blue: softmax of (0, 4)).
  const double photo_blue = std::exp(4.0) / std::sqrt(std::exp(8.0) + 1.0);
  const double photo_red = 1.0 / std::sqrt(std::exp(8.0) + 1.0);
  EXPECT_NEAR(dot(q.data(), undeclared.data(), q.size()),
              0.75 * q_bowl + 0.25 * (q_red * photo_red + q_blue * photo_blue), 1e-5);
  EXPECT_EQ(a.attributes_of("unknown"), nullptr);

  auto back = EmbeddingAdaptation::parse(a.serialize(), "t");
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->attributes.size(), 1U);
  EXPECT_EQ(back->attributes[0].key, "color");
  EXPECT_EQ(back->attributes[0].values, a.attributes[0].values);
  EXPECT_DOUBLE_EQ(back->attributes[0].weight, 0.25);
  EXPECT_EQ(back->product_attributes, a.product_attributes);
  EXPECT_EQ(back->project(x), q);
  EmbeddingAdaptation bad = a;
  bad.product_attributes["red-bowl"] = {2};
  EXPECT_FALSE(EmbeddingAdaptation::parse(bad.serialize(), "t"));
  bad = a;
  bad.attributes[0].weight = 1.0;
  EXPECT_FALSE(EmbeddingAdaptation::parse(bad.serialize(), "t"));
  bad = a;
  bad.output = "cosine";
  EXPECT_FALSE(EmbeddingAdaptation::parse(bad.serialize(), "t"));
}

class AdaptedSearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = CatalogStore::open(dir_.path(), true);
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->bind_embedder("test_embed", kDim, "test_detector"));
    ASSERT_TRUE(
        (*store)->upsert({record("cup-a", axis_vector(kDim, 0)), record("bowl-a", axis_vector(kDim, 2)),
                          record("tv-a", axis_vector(kDim, 3, 0, 0.6F))}));
    auto mapping = LabelMapping::parse(R"({"version": 1, "labels": {}})", "test");
    ASSERT_TRUE(mapping);
    auto service = SearchService::open(std::move(*store), std::move(*mapping), IndexKind::kExact);
    ASSERT_TRUE(service);
    service_ = std::move(*service);
  }

  static ProductRecord record(const std::string& id, std::vector<float> embedding) {
    return testing::product(id, id, "", std::nullopt, std::move(embedding));
  }

  std::int64_t generation() { return service_->store().stats()->generation; }
  void write(const EmbeddingAdaptation& a) { ASSERT_TRUE(a.save(dir_.file(EmbeddingAdaptation::kFileName))); }

  // Visual ranking for a query that is the cup; returns (ids best first, adapted).
  std::pair<std::vector<std::string>, bool> rank_for_cup() {
    SearchOptions options;
    options.ranking = Ranking::kVisual;
    options.min_score = 0.0;
    auto result =
        service_->search({QueryObject{"", 0.F, ImageBox{0, 0, 1, 1}, false, axis_vector(kDim, 0)}}, options);
    EXPECT_TRUE(result) << result.error().message;
    std::vector<std::string> ids;
    if (!result) return {ids, false};
    for (const ProductMatch& m : result->objects.at(0).products) ids.push_back(m.product.id);
    return {ids, result->adapted};
  }

  TempDir dir_;
  std::unique_ptr<SearchService> service_;
};

TEST_F(AdaptedSearchTest, AFreshAdaptationReranksAndAStaleOneIsIgnored) {
  // The embedder's space: the tv (cosine 0.51) before the bowl (0).
  auto [base, base_adapted] = rank_for_cup();
  ASSERT_GE(base.size(), 2U);
  EXPECT_EQ(base[0], "cup-a");
  EXPECT_EQ(base[1], "tv-a");
  EXPECT_FALSE(base_adapted);

  // Written while the service runs, for this generation: the next search uses it (bowl before tv).
  write(cup_bowl_adaptation(generation(), 0.7, "test_embed"));
  auto [adapted, is_adapted] = rank_for_cup();
  ASSERT_GE(adapted.size(), 2U);
  EXPECT_TRUE(is_adapted);
  EXPECT_EQ(adapted[0], "cup-a");
  EXPECT_EQ(adapted[1], "bowl-a");

  // The catalog moves on: the adaptation is stale and search is back in the embedder's space.
  ASSERT_TRUE(service_->store().upsert({record("bike-a", axis_vector(kDim, 4))}));
  auto [after, after_adapted] = rank_for_cup();
  EXPECT_FALSE(after_adapted);
  ASSERT_GE(after.size(), 2U);
  EXPECT_EQ(after[1], "tv-a");

  // Rebuilt for the new generation: adapted again.
  write(cup_bowl_adaptation(generation(), 0.7, "test_embed"));
  EXPECT_TRUE(rank_for_cup().second);
}

TEST_F(AdaptedSearchTest, TheProjectedQueryKeepsItsColour) {
  // A blue cup and a red one alike in every other way (and cup-a, whose colour is unknown); the query is
  // blue. In the adapted space the colour part must still see the query's colour (the projected query
  // once lost everything but its label and embedding).
  ColourProfile blue{};
  blue[*colour_index("blue")] = 1.F;
  ColourProfile red{};
  red[*colour_index("red")] = 1.F;
  ProductRecord a = record("a-red", axis_vector(kDim, 0));
  a.objects.at(0).colour = red;
  ProductRecord b = record("b-blue", axis_vector(kDim, 0));
  b.objects.at(0).colour = blue;
  ASSERT_TRUE(service_->store().upsert({a, b}));
  write(cup_bowl_adaptation(generation(), 0.7, "test_embed"));
  QueryObject q{"", 0.F, ImageBox{0, 0, 1, 1}, false, axis_vector(kDim, 0)};
  q.colour = blue;
  SearchOptions options;
  options.min_score = 0.0;
  auto result = service_->search({q}, options);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_TRUE(result->adapted);
  const auto& products = result->objects.at(0).products;
  ASSERT_GE(products.size(), 2U);
  EXPECT_EQ(products[0].product.id, "b-blue");
  EXPECT_NEAR(products[0].components.colour, 1.0, 1e-6);
  // The red one falls behind cup-a, whose unknown colour leaves it ranked on its visual part alone.
  const auto at = [&](const std::string& id) {
    return std::find_if(products.begin(), products.end(),
                        [&](const ProductMatch& m) { return m.product.id == id; }) -
           products.begin();
  };
  EXPECT_LT(at("cup-a"), at("a-red"));
}

TEST_F(AdaptedSearchTest, TheVisualRankingsThresholdInAnAdaptedSpaceIsTheAdaptations) {
  // Cosines of an adapted space are not the embedder's: its own visual_min_score applies when the request
  // names none (the mapping here has none, so without the adaptation every product would be shown).
  EmbeddingAdaptation a = cup_bowl_adaptation(generation(), 0.7, "test_embed");
  a.visual_min_score = 0.99;
  write(a);
  SearchOptions options;
  options.ranking = Ranking::kVisual;
  const QueryObject cup{"", 0.F, ImageBox{0, 0, 1, 1}, false, axis_vector(kDim, 0)};
  auto result = service_->search({cup}, options);
  ASSERT_TRUE(result) << result.error().message;
  ASSERT_TRUE(result->adapted);
  ASSERT_EQ(result->objects.at(0).products.size(), 1U);  // only the cup itself reaches 0.99
  EXPECT_EQ(result->objects.at(0).products[0].product.id, "cup-a");
  options.min_score = 0.0;  // the request's own value wins
  result = service_->search({cup}, options);
  ASSERT_TRUE(result);
  EXPECT_GE(result->objects.at(0).products.size(), 3U);
}

TEST_F(AdaptedSearchTest, AnAdaptationOfAnotherEmbedderOrDamagedIsIgnored) {
  write(cup_bowl_adaptation(generation(), 0.7, "other_embed"));
  EXPECT_FALSE(rank_for_cup().second);
  testing::write_file(dir_.file(EmbeddingAdaptation::kFileName), "VSADAPT1 broken");
  auto [ids, adapted] = rank_for_cup();
  EXPECT_FALSE(adapted);
  ASSERT_GE(ids.size(), 2U);
  EXPECT_EQ(ids[1], "tv-a");
}

}  // namespace
}  // namespace visearch::search
