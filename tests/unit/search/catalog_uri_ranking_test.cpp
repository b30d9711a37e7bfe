// The catalog URI forms (what --catalog accepts and refuses) and the fusion rule every catalog engine ranks
// with (search/ranking.h fuse()): weights, normalisation, thresholds, limit and the deterministic order.
#include <gtest/gtest.h>

#include "search/catalog.h"
#include "search/ranking.h"

namespace visearch::search {
namespace {

TEST(CatalogUri, SqliteFormsAndPlainFolders) {
  auto a = parse_catalog_uri("sqlite:/var/lib/visearch/shop");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->engine, CatalogUri::Engine::kSqlite);
  EXPECT_EQ(a->path, "/var/lib/visearch/shop");
  auto b = parse_catalog_uri("build/demo-catalog");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->engine, CatalogUri::Engine::kSqlite);
  EXPECT_EQ(b->path, "build/demo-catalog");
  EXPECT_FALSE(parse_catalog_uri("sqlite:"));
  EXPECT_FALSE(parse_catalog_uri(""));
}

TEST(CatalogUri, OpenSearchHostsAndPrefix) {
  auto uri = parse_catalog_uri("opensearch+https://10.0.0.5:9200,search-2.example:9201/shop_v2");
  ASSERT_TRUE(uri) << uri.error().message;
  EXPECT_EQ(uri->engine, CatalogUri::Engine::kOpenSearch);
  EXPECT_TRUE(uri->https);
  EXPECT_EQ(uri->hosts, (std::vector<std::string>{"10.0.0.5:9200", "search-2.example:9201"}));
  EXPECT_EQ(uri->prefix, "shop_v2");
  auto plain = parse_catalog_uri("opensearch+http://127.0.0.1:9200/shop");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->https);
}

TEST(CatalogUri, RefusesWhatWouldGoWrongLater) {
  const auto refused = [](const std::string& uri, const std::string& says) {
    auto parsed = parse_catalog_uri(uri);
    ASSERT_FALSE(parsed) << uri;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find(says), std::string::npos) << parsed.error().message;
  };
  refused("opensearch+http://admin:secret@127.0.0.1:9200/shop", "credentials in the URI");
  refused("opensearch+http://127.0.0.1:9200", "no /INDEX_PREFIX");
  refused("opensearch+http://127.0.0.1:9200/", "index prefix");
  refused("opensearch+http://127.0.0.1:9200/Shop", "index prefix");
  refused("opensearch+http://127.0.0.1:9200/_shop", "index prefix");
  refused("opensearch+http://127.0.0.1/shop", "HOST:PORT");
  refused("opensearch+http://127.0.0.1:99999/shop", "HOST:PORT");
  refused("opensearch+http://127.0.0.1:9200,/shop", "HOST:PORT");
  refused("elasticsearch://127.0.0.1:9200/shop", "unknown catalog");
  refused("opensearch://127.0.0.1:9200/shop", "unknown catalog");
}

FusionParams fused(double min_score = 0, int limit = 10) {
  FusionParams p;
  p.ranking = Ranking::kFused;
  p.use_visual = true;
  p.use_label = true;
  p.best_text = 8.0;
  p.weights = FusionWeights{};
  p.min_score = min_score;
  p.limit = limit;
  return p;
}

TEST(Fusion, WeightsNormalisationAndComponents) {
  std::vector<FusionCandidate> c(2);
  c[0].id = "a";
  c[0].visual = 0.9;
  c[0].in_label_category = true;
  c[0].text_raw = 8.0;  // the best text hit: text = 1
  c[1].id = "b";
  c[1].visual = 1.4;  // clamped to 1
  c[1].text_raw = 2.0;
  const auto out = fuse(c, fused());
  ASSERT_EQ(out.size(), 2U);
  const FusionWeights w;
  // a: label = 0.6 * 1 + 0.4 * 1 = 1
  EXPECT_EQ(out[0].candidate, 0U);
  EXPECT_NEAR(out[0].score, (w.visual * 0.9 + w.label * 1.0) / (w.visual + w.label), 1e-12);
  EXPECT_DOUBLE_EQ(out[0].components.text, 1.0);
  EXPECT_DOUBLE_EQ(out[0].components.category, 1.0);
  // b: visual 1, label = 0.4 * 0.25 = 0.1
  EXPECT_DOUBLE_EQ(out[1].components.visual, 1.0);
  EXPECT_NEAR(out[1].components.label, 0.1, 1e-12);
  EXPECT_NEAR(out[1].score, (w.visual * 1.0 + w.label * 0.1) / (w.visual + w.label), 1e-12);
}

TEST(Fusion, ShopperWordsAreAThirdComponent) {
  std::vector<FusionCandidate> c(1);
  c[0].id = "a";
  c[0].visual = 0.5;
  c[0].query_raw = 3.0;
  FusionParams p = fused();
  p.use_query = true;
  p.best_query = 6.0;
  const auto out = fuse(c, p);
  ASSERT_EQ(out.size(), 1U);
  const FusionWeights w;
  EXPECT_DOUBLE_EQ(out[0].components.query, 0.5);
  EXPECT_NEAR(out[0].score, (w.visual * 0.5 + 0.5 * 0.5) / (w.visual + w.label + 0.5), 1e-12);
}

TEST(Fusion, ThresholdLimitAndDeterministicOrder) {
  std::vector<FusionCandidate> c;
  for (const char* id : {"d", "b", "c", "a"}) {
    FusionCandidate x;
    x.id = id;
    x.visual = 0.8;
    c.push_back(x);
  }
  c.push_back(FusionCandidate{"weak", 0.1, 0, false, 0, 0});
  const auto out = fuse(c, fused(0.2, 3));
  ASSERT_EQ(out.size(), 3U);  // four tie at the top; "weak" is under the threshold
  EXPECT_EQ(c[out[0].candidate].id, "a");
  EXPECT_EQ(c[out[1].candidate].id, "b");
  EXPECT_EQ(c[out[2].candidate].id, "c");
}

TEST(Fusion, LabelRankingDropsProductsWithoutLabelEvidence) {
  std::vector<FusionCandidate> c(2);
  c[0].id = "looks-alike";
  c[0].visual = 0.99;
  c[1].id = "in-category";
  c[1].in_label_category = true;
  FusionParams p = fused();
  p.ranking = Ranking::kLabel;
  p.use_visual = false;
  const auto out = fuse(c, p);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(c[out[0].candidate].id, "in-category");
  EXPECT_DOUBLE_EQ(out[0].components.visual, 0.0);
}

}  // namespace
}  // namespace visearch::search
