// Search parameters from request fields, and the JSON shapes shared by the CLI and the HTTP API.
#include <gtest/gtest.h>

#include "search/search_json.h"
#include "search/text_util.h"

namespace visearch::search {
namespace {

TEST(SearchParameters, ParsesEveryField) {
  auto p = parse_search_parameters({{"box", "10, 20,110,220"},
                                    {"category", "Mugs & Cups"},
                                    {"min_price", "5"},
                                    {"max_price", "50.5"},
                                    {"limit", "7"},
                                    {"ranking", "visual"},
                                    {"attr.color", "blue"},
                                    {"attributes", R"({"size": "L", "count": 2})"},
                                    {"score_threshold", "0.3"},
                                    {"min_score", "0.25"},
                                    {"q", "in red"}});
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_TRUE(p->box);
  EXPECT_EQ(*p->box, (ImageBox{10, 20, 110, 220}));
  EXPECT_EQ(p->options.filters.category, "Mugs & Cups");
  EXPECT_DOUBLE_EQ(*p->options.filters.min_price, 5.0);
  EXPECT_DOUBLE_EQ(*p->options.filters.max_price, 50.5);
  EXPECT_EQ(p->options.limit, 7);
  EXPECT_EQ(p->options.ranking, Ranking::kVisual);
  ASSERT_TRUE(p->options.min_score);
  EXPECT_DOUBLE_EQ(*p->options.min_score, 0.25);
  EXPECT_EQ(p->options.query_text, "in red");
  EXPECT_FALSE(parse_search_parameters({{"q", std::string(201, 'a')}}));
  EXPECT_FALSE(parse_search_parameters({{"min_score", "1.5"}}));
  EXPECT_FALSE(parse_search_parameters({{"min_score", "nan"}}));
  EXPECT_FALSE(parse_search_parameters({}).value().options.min_score);
  EXPECT_EQ(p->options.filters.attributes.at("color"), "blue");
  EXPECT_EQ(p->options.filters.attributes.at("size"), "L");
  EXPECT_EQ(p->options.filters.attributes.at("count"), "2");
}

TEST(SearchParameters, BoxFormatsAndErrors) {
  EXPECT_EQ(*parse_box("[1, 2, 3, 4]"), (ImageBox{1, 2, 3, 4}));
  EXPECT_EQ(*parse_box(R"({"x1": 1, "y1": 2, "x2": 3, "y2": 4})"), (ImageBox{1, 2, 3, 4}));
  EXPECT_FALSE(parse_box("1,2,3"));
  EXPECT_FALSE(parse_box("4,4,1,1"));
  EXPECT_FALSE(parse_box("a,b,c,d"));
  EXPECT_FALSE(parse_box("[1, 2, 3, \"4\"]"));
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{{"limit", "0"},
                                                                                    {"limit", "101"},
                                                                                    {"limit", "2.5"},
                                                                                    {"ranking", "best"},
                                                                                    {"min_price", "-1"},
                                                                                    {"max_price", "cheap"},
                                                                                    {"attributes", "[1]"},
                                                                                    {"box", "1,1,0,0"}}) {
    auto p = parse_search_parameters({{name, value}});
    ASSERT_FALSE(p) << name << "=" << value;
    EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(p.error().message.find(name), std::string::npos) << p.error().message;
  }
  EXPECT_FALSE(parse_search_parameters({{"min_price", "10"}, {"max_price", "5"}}));
  EXPECT_TRUE(parse_search_parameters({{"ranking", "\"label\""}}));  // a JSON string member
}

TEST(SearchJson, UrlsAndShapes) {
  EXPECT_EQ(url_encode_component("a b/ü?"), "a%20b%2F%C3%BC%3F");
  EXPECT_EQ(product_image_url("sku 1", 2), "/v1/products/sku%201/images/2");
  Product p;
  p.id = "sku 1";
  p.title = "Mug";
  p.price = 3.5;
  p.images.push_back(ProductImage{0, "images/aa/x.jpg", "x", "image/jpeg", 4, 3, "a.jpg"});
  const nlohmann::json j = product_to_json(p);
  EXPECT_EQ(j.at("image_url"), "/v1/products/sku%201/images/0");
  EXPECT_EQ(j.at("images").at(0).at("width"), 4);
  EXPECT_FALSE(j.contains("file"));  // storage paths stay private
  EXPECT_DOUBLE_EQ(j.at("price").get<double>(), 3.5);

  SearchResult result;
  ObjectMatches o;
  o.object.label = "cup";
  o.object.score = 0.87654F;
  o.object.box = ImageBox{1.04F, 2, 3, 4};
  o.products.push_back(ProductMatch{p, 0.5, ScoreComponents{0.4, 0.6, 0.5, 1.0}, 0});
  result.objects.push_back(o);
  const nlohmann::json s = search_result_to_json(result, Size{640, 480}, Ranking::kFused);
  EXPECT_EQ(s.at("image").at("width"), 640);
  EXPECT_EQ(s.at("ranking"), "fused");
  const auto& object = s.at("objects").at(0);
  EXPECT_EQ(object.at("label"), "cup");
  EXPECT_NEAR(object.at("box").at("x1").get<double>(), 1.0, 1e-9);
  EXPECT_NEAR(object.at("score").get<double>(), 0.8765, 1e-9);
  const auto& match = object.at("products").at(0);
  for (const char* key : {"id", "title", "category", "price", "image_url", "score", "components"}) {
    EXPECT_TRUE(match.contains(key)) << key;
  }
  EXPECT_DOUBLE_EQ(match.at("components").at("category").get<double>(), 1.0);

  // Rounded numbers print as short decimals, not as 0.8985000000000001.
  result.objects[0].object.score = 0.89850001F;
  result.objects[0].products[0].score = 0.8985000001;
  const nlohmann::json rounded = search_result_to_json(result, Size{640, 480}, Ranking::kFused);
  EXPECT_EQ(rounded.at("objects").at(0).at("score").dump(), "0.8985");
  EXPECT_EQ(rounded.at("objects").at(0).at("products").at(0).at("score").dump(), "0.8985");
}

TEST(TextUtil, Utf8ValidationAndRepair) {
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xFF"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));      // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));  // surrogate
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));      // truncated
  EXPECT_EQ(printable_utf8("a\xFF"
                           "b\xC3\xA9"),
            "a?b\xC3\xA9");
  EXPECT_EQ(printable_utf8("abcdef", 3), "abc...");
  EXPECT_EQ(printable_utf8("\xC3\xA9\xC3\xA9", 3), "\xC3\xA9...");  // never cuts a character
  // What reaches JSON must serialise.
  EXPECT_NO_THROW(static_cast<void>(nlohmann::json(printable_utf8("x\x80\xFE")).dump()));
}

// Messages that print user data (issue 11, defect 9): an id holding an escape sequence or a NUL is written
// with \xNN escapes, so it can neither drive the terminal nor cut the line short.
TEST(TextUtil, EscapeControlsLeavesNoControlCharacter) {
  using namespace std::string_literals;
  EXPECT_EQ(escape_controls("\x1b[2J\x1b]0;owned\x07id"), "\\x1b[2J\\x1b]0;owned\\x07id");
  EXPECT_EQ(escape_controls("a\0b"s), "a\\x00b");
  EXPECT_EQ(escape_controls("tab\tnew\nline\x7f"), "tab\\x09new\\x0aline\\x7f");
  EXPECT_EQ(escape_controls("c1 \xC2\x9B here"), "c1 \\x9b here");  // U+009B, the 8-bit CSI
  EXPECT_EQ(escape_controls("caf\xC3\xA9 \xFF"), "caf\xC3\xA9 ?");  // UTF-8 kept, invalid bytes '?'
}

}  // namespace
}  // namespace visearch::search
