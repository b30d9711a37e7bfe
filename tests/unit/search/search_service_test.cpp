// SearchService ranking on a real catalog with hand-made 8-d embeddings: visual-only, label-only and
// fused rankings, score components, filters, index rebuild on a new catalog generation, errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "search/search_service.h"
#include "test_util.h"

namespace visearch::search {
namespace {

using testing::axis_vector;
using testing::product;
using testing::TempDir;

constexpr int kDim = 8;

std::vector<std::string> ids(const ObjectMatches& matches) {
  std::vector<std::string> out;
  for (const ProductMatch& m : matches.products) out.push_back(m.product.id);
  return out;
}

class SearchServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = CatalogStore::open(dir_.path(), true);
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->upsert({
        product("cup-a", "Blue mug", "Mugs & Cups", 12, axis_vector(kDim, 0), {{"color", "blue"}}),
        product("cup-b", "Green cup with a handle", "Mugs & Cups", 30, axis_vector(kDim, 1),
                {{"color", "green"}}),
        product("bowl-a", "Serving bowl", "Bowls", 20, axis_vector(kDim, 2)),
        product("tv-a", "Flat television", "Televisions", 400, axis_vector(kDim, 3)),
        product("bike-a", "Road bike", "Bicycles", 900, axis_vector(kDim, 4)),
    }));
    auto mapping = LabelMapping::parse(
        R"({"version": 1, "weights": {"visual": 0.5, "label": 0.5}, "labels": {
              "cup": {"categories": ["Mugs & Cups"], "keywords": ["cup", "mug"]},
              "tv": {"categories": ["Televisions"], "keywords": ["television"]}}})",
        "test");
    ASSERT_TRUE(mapping);
    auto service = SearchService::open(std::move(*store), std::move(*mapping), IndexKind::kExact);
    ASSERT_TRUE(service);
    service_ = std::move(*service);
  }

  // A cup-labelled object that looks like the bowl (axis 2) and a little like cup-a (axis 0).
  static QueryObject cup_like_bowl() {
    return QueryObject{"cup", 0.9F, ImageBox{0, 0, 10, 10}, false, axis_vector(kDim, 2, 0, 0.3F)};
  }

  ObjectMatches search_one(const QueryObject& object, Ranking ranking, ProductFilters filters = {}) {
    SearchOptions options;
    options.ranking = ranking;
    options.filters = std::move(filters);
    options.limit = 10;
    auto result = service_->search({object}, options);
    EXPECT_TRUE(result) << (result ? "" : result.error().message);
    return result ? result->objects.at(0) : ObjectMatches{};
  }

  TempDir dir_;
  std::unique_ptr<SearchService> service_;
};

TEST_F(SearchServiceTest, VisualRankingFollowsCosineSimilarity) {
  const ObjectMatches m = search_one(cup_like_bowl(), Ranking::kVisual);
  ASSERT_GE(m.products.size(), 2U);
  EXPECT_EQ(m.products[0].product.id, "bowl-a");
  EXPECT_EQ(m.products[1].product.id, "cup-a");
  EXPECT_NEAR(m.products[0].components.visual, 1.0 / std::sqrt(1.09), 1e-5);
  EXPECT_DOUBLE_EQ(m.products[0].score, m.products[0].components.visual);
  EXPECT_DOUBLE_EQ(m.products[0].components.label, 0.0);
}

TEST_F(SearchServiceTest, LabelRankingUsesCategoryAndKeywords) {
  const ObjectMatches m = search_one(cup_like_bowl(), Ranking::kLabel);
  ASSERT_EQ(ids(m), (std::vector<std::string>{"cup-a", "cup-b"}));
  for (const ProductMatch& p : m.products) {
    EXPECT_DOUBLE_EQ(p.components.category, 1.0);
    EXPECT_GT(p.components.text, 0.0);
    EXPECT_LE(p.components.text, 1.0);
    EXPECT_DOUBLE_EQ(p.components.visual, 0.0);
  }
  EXPECT_DOUBLE_EQ(m.products[0].components.text, 1.0);  // the best bm25 is the unit
}

TEST_F(SearchServiceTest, FusedRankingCombinesBothSides) {
  const ObjectMatches m = search_one(cup_like_bowl(), Ranking::kFused);
  ASSERT_GE(m.products.size(), 3U);
  EXPECT_EQ(m.products[0].product.id, "cup-a");  // right category and somewhat alike
  // Very alike but of the wrong category: still above the products that match on neither side.
  const std::vector<std::string> order = ids(m);
  const auto position = [&](const std::string& id) {
    return std::find(order.begin(), order.end(), id) - order.begin();
  };
  EXPECT_LT(position("bowl-a"), position("tv-a"));
  EXPECT_LT(position("bowl-a"), position("bike-a"));
  EXPECT_GT(m.products[static_cast<std::size_t>(position("bowl-a"))].components.visual, 0.9);
  for (const ProductMatch& p : m.products) {
    EXPECT_NEAR(p.score, 0.5 * p.components.visual + 0.5 * p.components.label, 1e-9) << p.product.id;
    EXPECT_NEAR(p.components.label, 0.6 * p.components.category + 0.4 * p.components.text, 1e-9);
  }
  EXPECT_EQ(m.products[0].matched_image, 0);
  EXPECT_EQ(m.object.label, "cup");
  EXPECT_TRUE(m.object.embedding.empty());
}

TEST_F(SearchServiceTest, AMinimumScoreLeavesOutWeakMatchesAndCanLeaveNone) {
  const ObjectMatches all = search_one(cup_like_bowl(), Ranking::kFused);
  ASSERT_GE(all.products.size(), 3U);
  SearchOptions options;
  options.limit = 10;
  options.min_score = all.products[1].score;  // keeps the first two (and any tie)
  auto some = service_->search({cup_like_bowl()}, options);
  ASSERT_TRUE(some) << some.error().message;
  ASSERT_GE(some->objects.at(0).products.size(), 2U);
  EXPECT_LT(some->objects.at(0).products.size(), all.products.size());
  for (const ProductMatch& p : some->objects.at(0).products) EXPECT_GE(p.score, *options.min_score);
  options.min_score = 1.0;  // nothing is that good: the object has no products ("no good match")
  auto none = service_->search({cup_like_bowl()}, options);
  ASSERT_TRUE(none) << none.error().message;
  ASSERT_EQ(none->objects.size(), 1U);
  EXPECT_TRUE(none->objects.at(0).products.empty());
}

TEST_F(SearchServiceTest, ShopperWordsJoinTheFusedScore) {
  // Without words the blue cup leads (somewhat alike); "this, but in green" puts the green cup first.
  EXPECT_EQ(search_one(cup_like_bowl(), Ranking::kFused).products.at(0).product.id, "cup-a");
  SearchOptions options;
  options.limit = 10;
  options.query_text = "this, but in GREEN";
  auto result = service_->search({cup_like_bowl()}, options);
  ASSERT_TRUE(result) << result.error().message;
  const auto& products = result->objects.at(0).products;
  ASSERT_FALSE(products.empty());
  EXPECT_EQ(products.at(0).product.id, "cup-b");
  EXPECT_DOUBLE_EQ(products.at(0).components.query, 1.0);
  for (const ProductMatch& p : products) {
    EXPECT_NEAR(p.score,
                (0.5 * p.components.visual + 0.5 * p.components.label + 0.5 * p.components.query) / 1.5, 1e-9)
        << p.product.id;
    if (p.product.id != "cup-b") {
      EXPECT_DOUBLE_EQ(p.components.query, 0.0) << p.product.id;
    }
  }
  // Words alone bring a product in that neither the picture nor the label would: the bike.
  options.query_text = "road";
  options.min_score = 0.0;
  auto bike = service_->search({cup_like_bowl()}, options);
  ASSERT_TRUE(bike);
  const auto& list = bike->objects.at(0).products;
  EXPECT_TRUE(std::any_of(list.begin(), list.end(), [](const ProductMatch& p) {
    return p.product.id == "bike-a" && p.components.query > 0;
  }));
  // Operators in the words are text, not FTS5 syntax.
  options.query_text = "\"NEAR(cup AND) OR *";
  EXPECT_TRUE(service_->search({cup_like_bowl()}, options));
}

TEST_F(SearchServiceTest, FiltersRestrictEveryRanking) {
  ProductFilters cheap;
  cheap.max_price = 25;
  for (Ranking r : {Ranking::kFused, Ranking::kVisual, Ranking::kLabel}) {
    for (const ProductMatch& p : search_one(cup_like_bowl(), r, cheap).products) {
      EXPECT_LE(*p.product.price, 25.0) << p.product.id;
    }
  }
  ProductFilters bikes;
  bikes.category = "bicycles";
  // The bike does not look like the query at all; a filtered search still finds it.
  EXPECT_EQ(ids(search_one(cup_like_bowl(), Ranking::kVisual, bikes)), std::vector<std::string>{"bike-a"});
  ProductFilters green;
  green.attributes["color"] = "Green";
  EXPECT_EQ(ids(search_one(cup_like_bowl(), Ranking::kFused, green)), std::vector<std::string>{"cup-b"});
}

TEST_F(SearchServiceTest, ANewGenerationRebuildsTheIndex) {
  auto before = service_->current_snapshot();
  ASSERT_TRUE(before);
  EXPECT_EQ((*before)->index->size(), 5U);
  ASSERT_TRUE(
      service_->store().upsert({product("cup-c", "Tall mug", "Mugs & Cups", 8, axis_vector(kDim, 2))}));
  const ObjectMatches m = search_one(cup_like_bowl(), Ranking::kFused);
  EXPECT_EQ(m.products.at(0).product.id, "cup-c");
  auto after = service_->current_snapshot();
  EXPECT_GT((*after)->generation, (*before)->generation);
  EXPECT_EQ((*after)->index->size(), 6U);
  EXPECT_EQ((*before)->index->size(), 5U);  // a search in flight keeps its snapshot
  ASSERT_TRUE(service_->store().remove({"cup-c"}));
  EXPECT_EQ(search_one(cup_like_bowl(), Ranking::kFused).products.at(0).product.id, "cup-a");
}

// Facet counts of the filtered catalog come with every answer; they are cached per generation and filter
// set, so they must follow an import and differ between filter sets.
TEST_F(SearchServiceTest, FacetsCountTheFilteredCatalogAndFollowImports) {
  const auto facets = [&](ProductFilters filters) {
    SearchOptions options;
    options.filters = std::move(filters);
    auto result = service_->search({cup_like_bowl()}, options);
    EXPECT_TRUE(result) << (result ? "" : result.error().message);
    return result ? result->facets : Facets{};
  };
  const std::map<std::string, std::int64_t> all{
      {"Bicycles", 1}, {"Bowls", 1}, {"Mugs & Cups", 2}, {"Televisions", 1}};
  EXPECT_EQ(facets({}).category, all);
  ProductFilters cheap;
  cheap.max_price = 25;
  EXPECT_EQ(facets(cheap).category, (std::map<std::string, std::int64_t>{{"Bowls", 1}, {"Mugs & Cups", 1}}));
  EXPECT_EQ(facets({}).category, all);  // the cached unfiltered counts, not the cheap ones
  ASSERT_TRUE(
      service_->store().upsert({product("cup-c", "Tall mug", "Mugs & Cups", 8, axis_vector(kDim, 2))}));
  EXPECT_EQ(facets({}).category.at("Mugs & Cups"), 3);
  EXPECT_EQ(facets(cheap).category.at("Mugs & Cups"), 2);
}

// The server's mode: a search that finds the catalog moved is answered from the previous index (marked
// stale, without the new product and never with a deleted one) while the new index is built in the
// background; a later search gets the new generation.
TEST_F(SearchServiceTest, StaleModeAnswersFromThePreviousIndexWhileRebuilding) {
  service_->serve_stale_while_rebuilding(true);
  SearchOptions options;
  options.limit = 10;
  auto first = service_->search({cup_like_bowl()}, options);
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->stale);
  const std::int64_t generation = first->generation;
  ASSERT_TRUE(
      service_->store().upsert({product("cup-c", "Tall mug", "Mugs & Cups", 8, axis_vector(kDim, 2))}));
  ASSERT_TRUE(service_->store().remove({"bowl-a"}));
  auto during = service_->search({cup_like_bowl()}, options);
  ASSERT_TRUE(during);
  // The search that notices the new generation starts the rebuild and is answered from the old index.
  EXPECT_TRUE(during->stale);
  EXPECT_EQ(during->generation, generation);
  for (const ProductMatch& m : during->objects.at(0).products) {
    EXPECT_NE(m.product.id, "cup-c");   // not in the previous index
    EXPECT_NE(m.product.id, "bowl-a");  // deleted: left out, never returned stale
  }
  Result<SearchResult> after = Unexpected{ErrorCode::kInternal, "not searched"};
  for (int attempt = 0; attempt < 500; ++attempt) {
    after = service_->search({cup_like_bowl()}, options);
    ASSERT_TRUE(after);
    if (!after->stale) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(after->stale);
  EXPECT_GT(after->generation, generation);
  EXPECT_EQ(after->objects.at(0).products.at(0).product.id, "cup-c");
  EXPECT_FALSE(service_->rebuilding());
}

TEST_F(SearchServiceTest, UnlabelledObjectsUseTheVisualSideOnly) {
  QueryObject whole{"", 0.F, ImageBox{0, 0, 5, 5}, true, axis_vector(kDim, 3)};
  EXPECT_TRUE(search_one(whole, Ranking::kLabel).products.empty());
  const ObjectMatches m = search_one(whole, Ranking::kFused);
  EXPECT_EQ(m.products.at(0).product.id, "tv-a");
  EXPECT_DOUBLE_EQ(m.products.at(0).components.label, 0.0);
}

TEST_F(SearchServiceTest, BadRequestsAreErrors) {
  QueryObject wrong = cup_like_bowl();
  wrong.embedding.resize(4);
  auto mismatch = service_->search({wrong}, SearchOptions{});
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().code, ErrorCode::kInvalidArgument);
  SearchOptions zero;
  zero.limit = 0;
  EXPECT_FALSE(service_->search({cup_like_bowl()}, zero));
}

TEST(SearchServiceEmpty, AnEmptyCatalogAnswersWithNoProducts) {
  TempDir dir;
  auto store = CatalogStore::open(dir.path(), true);
  auto mapping = LabelMapping::parse(R"({"version": 1, "labels": {}})", "t");
  auto service = SearchService::open(std::move(*store), std::move(*mapping), IndexKind::kAuto);
  auto result =
      (*service)->search({QueryObject{"cup", 0.5F, {}, false, axis_vector(kDim, 0)}}, SearchOptions{});
  ASSERT_TRUE(result) << result.error().message;
  ASSERT_EQ(result->objects.size(), 1U);
  EXPECT_TRUE(result->objects[0].products.empty());
  EXPECT_EQ(result->vectors, 0U);
}

}  // namespace
}  // namespace visearch::search
