// Colour: naming an object's colours, comparing them, the products' declared colours, the colour part of
// the fused ranking, and where colour profiles are stored (catalog, older catalogs, feedback log).
#include "search/colour.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <numeric>

#include "search/ranking.h"
#include "search/search_service.h"
#include "test_util.h"

namespace visearch::search {
namespace {

using testing::axis_vector;
using testing::product;
using testing::solid_image;
using testing::TempDir;

std::string name_of(const ColourProfile& p) {
  return std::string(colour_names()[dominant_colour(p)]);
}

ImageBox all_of(const Image& image) {
  return ImageBox{0.F, 0.F, static_cast<float>(image.width), static_cast<float>(image.height)};
}

ColourProfile profile_of(std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  const Image image = solid_image(20, 20, r, g, b);
  return colour_profile(image, all_of(image));
}

TEST(Colour, SolidColoursGetTheNamesShoppersUse) {
  const std::vector<std::pair<std::array<std::uint8_t, 3>, std::string>> cases{
      {{220, 20, 30}, "red"},     {{20, 30, 100}, "blue"},    {{30, 90, 210}, "blue"},
      {{235, 235, 235}, "white"}, {{10, 10, 12}, "black"},    {{128, 128, 130}, "grey"},
      {{250, 150, 20}, "orange"}, {{250, 230, 40}, "yellow"}, {{40, 160, 50}, "green"},
      {{120, 40, 160}, "purple"}, {{250, 150, 180}, "pink"},  {{125, 80, 40}, "brown"},
      {{205, 175, 135}, "brown"},  // beige
  };
  for (const auto& [rgb, name] : cases) {
    const ColourProfile p = profile_of(rgb[0], rgb[1], rgb[2]);
    EXPECT_EQ(name_of(p), name) << int(rgb[0]) << "," << int(rgb[1]) << "," << int(rgb[2]);
    EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-5);
  }
}

TEST(Colour, OnlyTheCentralRegionOfTheBoxCounts) {
  // A blue object filling the middle 70 % of a red frame: the box's central 60 % is all blue, though
  // half of the box is red.
  Image image = solid_image(100, 80, 220, 20, 30);
  for (int y = 12; y < 68; ++y) {
    for (int x = 15; x < 85; ++x) {
      std::uint8_t* p = image.row(y) + static_cast<std::size_t>(x) * 3;
      p[0] = 30;
      p[1] = 60;
      p[2] = 200;
    }
  }
  const ColourProfile whole = colour_profile(image, all_of(image));
  EXPECT_EQ(name_of(whole), "blue");
  EXPECT_GT(whole[7], 0.9F);
  // A box on the red frame alone, and one partly outside the image (clamped).
  EXPECT_EQ(name_of(colour_profile(image, ImageBox{0, 0, 20, 80})), "red");
  EXPECT_EQ(name_of(colour_profile(image, ImageBox{-50, -50, 24, 18})), "red");
  // Nothing inside: unknown.
  EXPECT_FALSE(has_colour(colour_profile(image, ImageBox{200, 200, 300, 300})));
  EXPECT_FALSE(has_colour(colour_profile(Image{}, ImageBox{0, 0, 5, 5})));
}

TEST(Colour, SimilarityIsHistogramIntersection) {
  const ColourProfile red = profile_of(220, 20, 30);
  const ColourProfile blue = profile_of(30, 60, 200);
  const ColourProfile navy = profile_of(20, 30, 100);
  EXPECT_NEAR(colour_similarity(red, red), 1.0, 1e-5);
  EXPECT_LT(colour_similarity(red, blue), 0.05);
  EXPECT_GT(colour_similarity(blue, navy), colour_similarity(blue, red));
  EXPECT_DOUBLE_EQ(colour_similarity(blue, navy), colour_similarity(navy, blue));
  EXPECT_DOUBLE_EQ(colour_similarity(blue, ColourProfile{}), 0.0);
  ColourProfile half{};
  half[3] = 0.5F;  // red
  half[7] = 0.5F;  // blue
  EXPECT_NEAR(colour_similarity(half, red), 0.5, 0.05);
}

TEST(Colour, DeclaredColoursReadTheColourAttributeWithSynonyms) {
  const auto bit = [](const char* name) { return static_cast<std::uint16_t>(1U << *colour_index(name)); };
  EXPECT_EQ(declared_colours({{"Color", "Navy Blue/White"}}), bit("blue") | bit("white"));
  EXPECT_EQ(declared_colours({{"colour", "GRAY"}}), bit("grey"));
  EXPECT_EQ(declared_colours({{"color", "beige; gold"}}), bit("brown") | bit("yellow"));
  EXPECT_EQ(declared_colours({{"material", "blue steel"}}), 0);  // another attribute
  EXPECT_EQ(declared_colours({{"color", "see photo"}}), 0);      // no colour word
  EXPECT_FALSE(colour_index("bluish"));
}

TEST(Colour, DeclaredColourMatchIsTheQuerysShareOfItRelativeToItsMainColour) {
  ColourProfile q{};
  q[7] = 0.6F;  // blue
  q[1] = 0.3F;  // white
  q[2] = 0.1F;  // grey
  const auto bit = [](const char* name) { return static_cast<std::uint16_t>(1U << *colour_index(name)); };
  EXPECT_NEAR(*declared_colour_match(q, bit("blue")), 1.0, 1e-6);
  EXPECT_NEAR(*declared_colour_match(q, bit("white")), 0.5, 1e-6);
  EXPECT_NEAR(*declared_colour_match(q, bit("white") | bit("blue")), 1.0, 1e-6);
  EXPECT_NEAR(*declared_colour_match(q, bit("red")), 0.0, 1e-6);
  EXPECT_FALSE(declared_colour_match(q, 0));
  EXPECT_FALSE(declared_colour_match(ColourProfile{}, bit("red")));
}

TEST(Colour, BytesRoundTripAndRejectDamage) {
  const ColourProfile p = profile_of(40, 160, 50);
  const auto bytes = colour_bytes(p);
  ASSERT_EQ(bytes.size(), 44U);
  EXPECT_EQ(colour_from_bytes(bytes), p);
  EXPECT_FALSE(colour_from_bytes(std::span(bytes).first(43)));
  EXPECT_FALSE(colour_from_bytes({}));
  auto nan = bytes;
  nan[3] = 0x7F;
  nan[2] = 0xC0;  // first value NaN
  EXPECT_FALSE(colour_from_bytes(nan));
  auto big = bytes;
  big[3] = 0x40;  // first value >= 2
  EXPECT_FALSE(colour_from_bytes(big));
}

TEST(Colour, AgreementAveragesTheObjectsAndTheDeclaredColour) {
  const ColourProfile blue = profile_of(30, 60, 200);
  const ColourProfile red = profile_of(220, 20, 30);
  const std::vector<ColourProfile> objects{red, blue, ColourProfile{}};
  const auto bit_red = static_cast<std::uint16_t>(1U << *colour_index("red"));
  // The best object (blue) and no declared colour.
  EXPECT_NEAR(colour_agreement(blue, objects, 0), colour_similarity(blue, blue), 1e-9);
  // With a declared colour the query is not: the mean of the two parts.
  EXPECT_NEAR(colour_agreement(blue, objects, bit_red),
              (colour_similarity(blue, blue) + *declared_colour_match(blue, bit_red)) / 2, 1e-9);
  // Nothing known: negative.
  EXPECT_LT(colour_agreement(blue, std::vector<ColourProfile>{ColourProfile{}}, 0), 0.0);
  EXPECT_LT(colour_agreement(ColourProfile{}, objects, bit_red), 0.0);
}

TEST(Colour, FusionAddsColourWithItsWeightAndSkipsUnknownColours) {
  std::vector<FusionCandidate> c(3);
  for (auto& x : c) x.visual = 0.8;
  c[0].id = "a-red";
  c[0].colour = 0.1;
  c[1].id = "b-blue";
  c[1].colour = 0.9;
  c[2].id = "c-unknown";  // colour -1
  FusionParams p;
  p.ranking = Ranking::kFused;
  p.use_visual = true;
  p.limit = 10;
  p.use_colour = true;
  auto out = fuse(c, p);
  ASSERT_EQ(out.size(), 3U);
  const FusionWeights w;
  EXPECT_EQ(c[out[0].candidate].id, "b-blue");
  EXPECT_NEAR(out[0].score, (w.visual * 0.8 + w.colour * 0.9) / (w.visual + w.label + w.colour), 1e-12);
  EXPECT_DOUBLE_EQ(out[0].components.colour, 0.9);
  // The unknown colour is ranked on the other parts alone.
  const auto unknown = std::find_if(
      out.begin(), out.end(), [&](const FusedCandidate& f) { return c[f.candidate].id == "c-unknown"; });
  ASSERT_NE(unknown, out.end());
  EXPECT_NEAR(unknown->score, w.visual * 0.8 / (w.visual + w.label), 1e-12);
  EXPECT_DOUBLE_EQ(unknown->components.colour, 0.0);
  // Off (another ranking, or an object without colour): ties break on the id.
  p.use_colour = false;
  out = fuse(c, p);
  EXPECT_EQ(c[out[0].candidate].id, "a-red");
  EXPECT_DOUBLE_EQ(out[0].components.colour, 0.0);
}

// A catalog of two products alike in every way but colour: a blue one and a red one.
class ColourSearchTest : public ::testing::Test {
 protected:
  static constexpr int kDim = 8;

  static ProductRecord coloured(const std::string& id, const ColourProfile& colour,
                                std::map<std::string, std::string> attributes = {}) {
    ProductRecord r = product(id, "Mug", "Mugs & Cups", 10, axis_vector(kDim, 0), std::move(attributes));
    r.objects.at(0).colour = colour;
    return r;
  }

  std::unique_ptr<SearchService> open(const std::string& mapping_json) {
    auto store = CatalogStore::open(dir_.path(), true);
    EXPECT_TRUE(store);
    auto mapping = LabelMapping::parse(mapping_json, "test");
    EXPECT_TRUE(mapping);
    auto service = SearchService::open(std::move(*store), std::move(*mapping), IndexKind::kExact);
    EXPECT_TRUE(service);
    return service ? std::move(*service) : nullptr;
  }

  // Alike but not identical to the products (visual 0.8): colour can still move the order.
  static QueryObject query(const ColourProfile& colour) {
    QueryObject q{"cup", 0.9F, ImageBox{0, 0, 10, 10}, false, axis_vector(kDim, 0, 1, 0.75F)};
    q.colour = colour;
    return q;
  }

  static std::vector<std::string> ranked(SearchService& service, const QueryObject& q,
                                         Ranking ranking = Ranking::kFused) {
    SearchOptions options;
    options.ranking = ranking;
    auto result = service.search({q}, options);
    EXPECT_TRUE(result) << (result ? "" : result.error().message);
    std::vector<std::string> out;
    if (result) {
      for (const ProductMatch& m : result->objects.at(0).products) out.push_back(m.product.id);
    }
    return out;
  }

  static constexpr const char* kMapping =
      R"({"version": 1, "labels": {"cup": {"categories": ["Mugs & Cups"], "keywords": ["mug"]}}})";
  TempDir dir_;
  const ColourProfile blue_ = profile_of(30, 60, 200);
  const ColourProfile red_ = profile_of(220, 20, 30);
};

TEST_F(ColourSearchTest, ABlueQueryPutsTheBlueProductFirstAndShowsTheComponent) {
  auto service = open(kMapping);
  ASSERT_TRUE(service);
  ASSERT_TRUE(service->store().upsert({coloured("a-red", red_), coloured("b-blue", blue_)}));
  EXPECT_EQ(ranked(*service, query(blue_)), (std::vector<std::string>{"b-blue", "a-red"}));
  EXPECT_EQ(ranked(*service, query(red_)), (std::vector<std::string>{"a-red", "b-blue"}));
  // Visual and label rankings do not use colour: the tie breaks on the id.
  EXPECT_EQ(ranked(*service, query(blue_), Ranking::kVisual).at(0), "a-red");
  SearchOptions options;
  auto result = service->search({query(blue_)}, options);
  ASSERT_TRUE(result);
  const ProductMatch& top = result->objects.at(0).products.at(0);
  EXPECT_NEAR(top.components.colour, 1.0, 1e-4);
  const FusionWeights w;
  EXPECT_NEAR(top.score,
              (w.visual * top.components.visual + w.label * top.components.label + w.colour * 1.0) /
                  (w.visual + w.label + w.colour),
              1e-4);
}

TEST_F(ColourSearchTest, ADeclaredColourCountsWhereThePhotoDoesNotTellIt) {
  auto service = open(kMapping);
  ASSERT_TRUE(service);
  // Both photos' objects are of unknown colour; one product says it is blue.
  ASSERT_TRUE(service->store().upsert({coloured("a-plain", ColourProfile{}),
                                       coloured("b-says-blue", ColourProfile{}, {{"Colour", "navy"}})}));
  EXPECT_EQ(ranked(*service, query(blue_)).at(0), "b-says-blue");
  EXPECT_EQ(ranked(*service, query(red_)).at(0), "a-plain");  // declared blue, query red: 0 < unknown
}

TEST_F(ColourSearchTest, AColourWeightOfZeroTurnsItOff) {
  auto service =
      open(R"({"version": 1, "weights": {"colour": 0}, "labels": {"cup": {"categories": ["Mugs & Cups"]}}})");
  ASSERT_TRUE(service);
  ASSERT_TRUE(service->store().upsert({coloured("a-red", red_), coloured("b-blue", blue_)}));
  EXPECT_EQ(ranked(*service, query(blue_)).at(0), "a-red");
}

TEST_F(ColourSearchTest, ProfilesSurviveTheCatalogAndAnOlderCatalogGainsTheColumn) {
  {
    auto service = open(kMapping);
    ASSERT_TRUE(service);
    ASSERT_TRUE(service->store().upsert({coloured("b-blue", blue_)}));
    auto reader = service->store().reader();
    ASSERT_TRUE(reader);
    auto objects = reader->objects_of("b-blue");
    ASSERT_TRUE(objects);
    ASSERT_EQ(objects->size(), 1U);
    EXPECT_EQ(objects->at(0).colour, blue_);
  }
  // A catalog written before objects had colours: no column at all.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() + "/catalog.db").c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, "ALTER TABLE image_objects DROP COLUMN colour", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto service = open(kMapping);
  ASSERT_TRUE(service);
  auto reader = service->store().reader();
  ASSERT_TRUE(reader);
  auto objects = reader->objects_of("b-blue");
  ASSERT_TRUE(objects);
  ASSERT_EQ(objects->size(), 1U);
  EXPECT_FALSE(has_colour(objects->at(0).colour));
  EXPECT_EQ(ranked(*service, query(blue_)), std::vector<std::string>{"b-blue"});
  // New imports store colours again.
  ASSERT_TRUE(service->store().upsert({coloured("a-red", red_)}));
  EXPECT_EQ(ranked(*service, query(red_)).at(0), "a-red");
}

}  // namespace
}  // namespace visearch::search
