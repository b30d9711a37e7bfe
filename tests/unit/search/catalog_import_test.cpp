// Parsing of product files (JSONL, CSV, JSON) with line-numbered errors, and import_catalog() into a
// real SQLite catalog with a stand-in image analyser (no models needed).
#include <gtest/gtest.h>

#include <cmath>

#include "search/catalog_import.h"
#include "search/sqlite_catalog.h"
#include "test_util.h"

namespace visearch::search {
namespace {

using testing::TempDir;

const RowError* error_at(const std::vector<RowError>& errors, std::size_t line) {
  for (const RowError& e : errors) {
    if (e.line == line) return &e;
  }
  return nullptr;
}

TEST(CatalogParse, JsonLinesKeepsGoodRowsAndNumbersBadOnes) {
  const std::string text =
      R"({"id": "p1", "title": "Blue mug", "price": 12.5, "images": ["a.jpg"], "attributes": {"color": "blue", "size": 3}})"
      "\n"
      "\n"  // blank line 2
      "{not json\n"
      R"({"id": "p4", "images": ["b.jpg"]})"
      "\n"
      R"({"id": "p5", "title": "Bad price", "price": -1, "images": ["c.jpg"]})"
      "\n"
      R"({"id": "p6", "title": "No image"})"
      "\n"
      R"({"id": 7, "title": "Numeric id", "image": "d.jpg", "price": "3.50"})"
      "\n"
      R"(["an", "array"])"
      "\n";
  const ParsedCatalog parsed = parse_catalog(text, ImportFormat::kJsonl);
  ASSERT_EQ(parsed.rows.size(), 2U);
  EXPECT_EQ(parsed.rows[0].line, 1U);
  EXPECT_EQ(parsed.rows[0].product.id, "p1");
  EXPECT_EQ(parsed.rows[0].product.attributes.at("size"), "3");
  EXPECT_DOUBLE_EQ(*parsed.rows[0].product.price, 12.5);
  EXPECT_EQ(parsed.rows[1].line, 7U);
  EXPECT_EQ(parsed.rows[1].product.id, "7");
  EXPECT_DOUBLE_EQ(*parsed.rows[1].product.price, 3.5);
  ASSERT_EQ(parsed.errors.size(), 5U);
  ASSERT_NE(error_at(parsed.errors, 3), nullptr);
  EXPECT_NE(error_at(parsed.errors, 3)->message.find("JSON"), std::string::npos);
  ASSERT_NE(error_at(parsed.errors, 4), nullptr);
  EXPECT_EQ(error_at(parsed.errors, 4)->id, "p4");
  EXPECT_NE(error_at(parsed.errors, 4)->message.find("title"), std::string::npos);
  EXPECT_NE(error_at(parsed.errors, 5)->message.find("price"), std::string::npos);
  EXPECT_NE(error_at(parsed.errors, 6)->message.find("image"), std::string::npos);
  EXPECT_NE(error_at(parsed.errors, 8), nullptr);
}

TEST(CatalogParse, CsvQuotingMultilineFieldsAndAttributes) {
  const std::string text =
      "id,title,description,category,price,images,color,attributes\n"
      "m1,\"Mug, large\",\"Line one\nline two\",Mugs,9.99,a.jpg|b.jpg,red,material=stoneware;finish=matte\n"
      "m2,Plain mug,,Mugs,,c.jpg,,\n"
      "m3,Bad price,,Mugs,cheap,d.jpg,,\n"
      "m4,\"Broken\"quote,,Mugs,1,e.jpg,,\n"
      "m5,Too few fields\n";
  const ParsedCatalog parsed = parse_catalog(text, ImportFormat::kCsv);
  ASSERT_EQ(parsed.rows.size(), 2U);
  const Product& m1 = parsed.rows[0].product;
  EXPECT_EQ(parsed.rows[0].line, 2U);
  EXPECT_EQ(m1.title, "Mug, large");
  EXPECT_EQ(m1.description, "Line one\nline two");
  ASSERT_EQ(parsed.rows[0].images.size(), 2U);
  EXPECT_EQ(parsed.rows[0].images[1].path, "b.jpg");
  EXPECT_EQ(m1.attributes.at("color"), "red");
  EXPECT_EQ(m1.attributes.at("material"), "stoneware");
  EXPECT_EQ(m1.attributes.at("finish"), "matte");
  EXPECT_EQ(parsed.rows[1].line, 4U);  // the quoted newline made record 2 span lines 2-3
  EXPECT_FALSE(parsed.rows[1].product.price.has_value());
  ASSERT_EQ(parsed.errors.size(), 3U);
  EXPECT_EQ(parsed.errors[0].line, 5U);
  EXPECT_NE(parsed.errors[0].message.find("price"), std::string::npos);
  EXPECT_EQ(parsed.errors[1].line, 6U);
  EXPECT_NE(parsed.errors[1].message.find("quote"), std::string::npos);
  EXPECT_EQ(parsed.errors[2].line, 7U);
  EXPECT_NE(parsed.errors[2].message.find("fields"), std::string::npos);
}

TEST(CatalogParse, CsvRowsMustBeUtf8AndErrorsStayPrintable) {
  const ParsedCatalog parsed = parse_catalog(
      "id,title,images\ngood,Caf\xC3\xA9 mug,a.jpg\nbad\xFF,Broken \xFF title,b.jpg\n", ImportFormat::kCsv);
  ASSERT_EQ(parsed.rows.size(), 1U);
  EXPECT_EQ(parsed.rows[0].product.title, "Caf\xC3\xA9 mug");
  ASSERT_EQ(parsed.errors.size(), 1U);
  EXPECT_EQ(parsed.errors[0].line, 3U);
  EXPECT_NE(parsed.errors[0].message.find("UTF-8"), std::string::npos);
  const ParsedCatalog price =
      parse_catalog("id,title,price,images\nx,T,\xFE\xFF,a.jpg\n", ImportFormat::kCsv);
  ASSERT_EQ(price.errors.size(), 1U);
  EXPECT_NO_THROW(static_cast<void>(nlohmann::json(price.errors[0].message).dump()));
}

TEST(CatalogParse, CsvWithoutIdColumnIsOneError) {
  const ParsedCatalog parsed = parse_catalog("title,images\nA,a.jpg\n", ImportFormat::kCsv);
  EXPECT_TRUE(parsed.rows.empty());
  ASSERT_EQ(parsed.errors.size(), 1U);
  EXPECT_EQ(parsed.errors[0].line, 1U);
}

TEST(CatalogParse, JsonBodyWithInlineImagesOnly) {
  const std::string body = R"({"products": [)"
                           R"({"id": "a", "title": "A", "images": [{"data": "/9j/4AAQ"}]},)"
                           R"({"id": "b", "title": "B", "images": ["data:image/png;base64,iVBORw0KGgo="]},)"
                           R"({"id": "c", "title": "C", "images": ["/etc/passwd"]},)"
                           R"({"id": "d", "title": "D", "images": [{"data": "***"}]}]})";
  ParseOptions options;
  options.allow_paths = false;
  const ParsedCatalog parsed = parse_catalog(body, ImportFormat::kJson, options);
  ASSERT_EQ(parsed.rows.size(), 2U);
  EXPECT_TRUE(parsed.rows[0].images[0].inline_data);
  EXPECT_EQ(parsed.rows[0].images[0].data.substr(0, 3), "\xFF\xD8\xFF");
  EXPECT_EQ(parsed.rows[1].images[0].data.substr(1, 3), "PNG");
  ASSERT_EQ(parsed.errors.size(), 2U);
  EXPECT_EQ(parsed.errors[0].line, 3U);
  EXPECT_NE(parsed.errors[0].message.find("not accepted"), std::string::npos);
  EXPECT_EQ(parsed.errors[1].line, 4U);
  EXPECT_FALSE(parse_catalog("{\"x\": 1}", ImportFormat::kJson).errors.empty());
}

TEST(CatalogParse, ProductIds) {
  EXPECT_TRUE(validate_product_id("sku-123_A.b:c"));
  EXPECT_TRUE(validate_product_id("Café mug 7"));
  EXPECT_FALSE(validate_product_id(""));
  EXPECT_FALSE(validate_product_id("a/b"));
  EXPECT_FALSE(validate_product_id("a\\b"));
  EXPECT_FALSE(validate_product_id(".."));
  EXPECT_FALSE(validate_product_id(" padded"));
  EXPECT_FALSE(validate_product_id("tab\there"));
  EXPECT_FALSE(validate_product_id(std::string(129, 'x')));
  EXPECT_EQ(import_format_of("x/products.JSONL").value(), ImportFormat::kJsonl);
  EXPECT_EQ(import_format_of("p.csv").value(), ImportFormat::kCsv);
  EXPECT_FALSE(import_format_of("p.txt"));
}

// Stand-in analyser: a fixed 4-d embedding per image colour, counting calls.
struct FakeAnalyzer {
  int calls = 0;
  Result<AnalyzedImage> operator()(std::span<const std::uint8_t> bytes) {
    ++calls;
    auto decoded = decode_image(bytes, DecodeLimits{});
    if (!decoded) return decoded.error();
    IndexedObject object;
    object.label = "cup";
    object.score = 0.9F;
    object.box =
        ImageBox{0, 0, static_cast<float>(decoded->image.width), static_cast<float>(decoded->image.height)};
    object.embedding = {static_cast<float>(decoded->image.pixels[0]) / 255.F, 0.5F, 0.5F, 0.5F};
    return AnalyzedImage{decoded->format, decoded->image.width, decoded->image.height, {object}};
  }
};

class CatalogImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_file(dir_.file("red.jpg"), testing::solid_jpeg(40, 30, 220, 10, 10));
    testing::write_file(dir_.file("blue.jpg"), testing::solid_jpeg(30, 40, 10, 10, 220));
    testing::write_file(dir_.file("notes.jpg"), "this is not an image");
    catalog_ = std::move(*SqliteCatalog::open(dir_.file("catalog"), CatalogOpenOptions{}));
    store_ = &catalog_->service().store();
  }
  Result<ImportReport> run(const std::string& text, bool strict) {
    ImportOptions options;
    options.strict = strict;
    options.base_dir = dir_.path();
    const ParsedCatalog parsed = parse_catalog(text, ImportFormat::kJsonl);
    return import_catalog(
        *catalog_, parsed, [this](auto bytes) { return analyzer_(bytes); }, options);
  }

  TempDir dir_;
  std::unique_ptr<SqliteCatalog> catalog_;
  CatalogStore* store_ = nullptr;
  FakeAnalyzer analyzer_;
};

constexpr const char* kMixed = R"({"id": "r", "title": "Red cup", "images": ["red.jpg"]})"
                               "\n"
                               R"({"id": "x", "title": "Missing", "images": ["missing.jpg"]})"
                               "\n"
                               R"({"id": "n", "title": "Not an image", "images": ["notes.jpg"]})"
                               "\n"
                               R"({"id": "b", "title": "Blue cup", "images": ["blue.jpg", "red.jpg"]})"
                               "\n";

TEST_F(CatalogImportTest, BadRowsAreReportedWithLinesAndTheRestImported) {
  auto report = run(kMixed, false);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->committed);
  EXPECT_EQ(report->inserted, 2);
  ASSERT_EQ(report->errors.size(), 2U);
  EXPECT_EQ(report->errors[0].line, 2U);
  EXPECT_EQ(report->errors[0].id, "x");
  EXPECT_NE(report->errors[0].message.find("missing.jpg"), std::string::npos);
  EXPECT_EQ(report->errors[1].line, 3U);
  auto b = store_->get("b");
  ASSERT_TRUE(b && b->has_value());
  ASSERT_EQ((*b)->images.size(), 2U);
  EXPECT_EQ((*b)->images[0].width, 30);
  EXPECT_EQ((*b)->images[1].content_type, "image/jpeg");
  EXPECT_TRUE(std::filesystem::exists(store_->image_path((*b)->images[0])));
  // red.jpg was imported twice (r and b's second image): analysed once, then reused.
  EXPECT_EQ(report->images_reused, 1);
  EXPECT_EQ(analyzer_.calls, 3);  // red, notes (fails), blue
  auto stats = store_->stats();
  EXPECT_EQ(stats->products, 2);
  EXPECT_EQ(stats->vectors, 3);
}

TEST_F(CatalogImportTest, StrictImportsNothingOnAnyError) {
  auto report = run(kMixed, true);
  ASSERT_TRUE(report);
  EXPECT_FALSE(report->committed);
  EXPECT_EQ(report->errors.size(), 2U);
  EXPECT_EQ(store_->stats()->products, 0);
  EXPECT_EQ(store_->stats()->generation, 0);
}

TEST_F(CatalogImportTest, ReimportUpdatesByIdAndReusesEmbeddings) {
  ASSERT_TRUE(run(R"({"id": "r", "title": "Red cup", "price": 5, "images": ["red.jpg"]})", false));
  const int calls = analyzer_.calls;
  auto report = run(R"({"id": "r", "title": "Red cup v2", "price": 6, "images": ["red.jpg"]})", false);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->inserted, 0);
  EXPECT_EQ(report->updated, 1);
  EXPECT_EQ(analyzer_.calls, calls);
  EXPECT_EQ((*store_->get("r"))->title, "Red cup v2");
  EXPECT_EQ(store_->stats()->vectors, 1);
}

}  // namespace
}  // namespace visearch::search

namespace visearch::search {
namespace {

// A product's shop page (issue 12): kept when it is an absolute http(s) address, refused with the row
// otherwise (a javascript: or relative link would be shown to shoppers as a link).
TEST(CatalogParse, ProductUrlMustBeAnHttpAddress) {
  const std::string text =
      R"({"id": "ok", "title": "T", "images": ["a.jpg"], "url": "https://shop.example/p/ok?x=1"})"
      "\n"
      R"({"id": "none", "title": "T", "images": ["a.jpg"]})"
      "\n"
      R"j({"id": "js", "title": "T", "images": ["a.jpg"], "url": "javascript:alert(1)"})j"
      "\n"
      R"({"id": "rel", "title": "T", "images": ["a.jpg"], "url": "/p/rel"})"
      "\n"
      R"({"id": "space", "title": "T", "images": ["a.jpg"], "url": "http://a b"})"
      "\n"
      R"({"id": "bare", "title": "T", "images": ["a.jpg"], "url": "http://"})"
      "\n"
      R"({"id": "num", "title": "T", "images": ["a.jpg"], "url": 5})"
      "\n";
  const ParsedCatalog parsed = parse_catalog(text, ImportFormat::kJsonl);
  ASSERT_EQ(parsed.rows.size(), 2U);
  EXPECT_EQ(parsed.rows[0].product.url, "https://shop.example/p/ok?x=1");
  EXPECT_EQ(parsed.rows[1].product.url, "");
  ASSERT_EQ(parsed.errors.size(), 5U);
  for (std::size_t line = 3; line <= 6; ++line) {
    ASSERT_NE(error_at(parsed.errors, line), nullptr) << line;
    EXPECT_NE(error_at(parsed.errors, line)->message.find("url"), std::string::npos) << line;
  }
  const ParsedCatalog csv =
      parse_catalog("id,title,images,url\nc1,T,a.jpg,HTTP://Shop.Example/c1\n", ImportFormat::kCsv);
  ASSERT_EQ(csv.rows.size(), 1U);
  EXPECT_EQ(csv.rows[0].product.url, "HTTP://Shop.Example/c1");
}

}  // namespace
}  // namespace visearch::search
