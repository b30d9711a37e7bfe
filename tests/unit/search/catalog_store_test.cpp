// CatalogStore on a real SQLite file in a temporary folder: upsert/get/delete, FTS5, filters,
// generations, snapshot isolation of readers, rollback of a failing transaction, embedder binding.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <thread>

#include "search/catalog_store.h"
#include "test_util.h"

namespace visearch::search {
namespace {

using testing::TempDir;

ProductRecord make_record(const std::string& id, const std::string& title, const std::string& category,
                          std::optional<double> price, std::map<std::string, std::string> attributes = {}) {
  ProductRecord r;
  r.product.id = id;
  r.product.title = title;
  r.product.description = "About " + title;
  r.product.category = category;
  r.product.brand = "Acme";
  r.product.price = price;
  r.product.currency = "EUR";
  r.product.attributes = std::move(attributes);
  ProductImage image;
  image.n = 0;
  image.file = "images/xx/" + id + ".jpg";
  image.sha256 = std::string(64, 'a');
  image.content_type = "image/jpeg";
  image.width = 10;
  image.height = 20;
  r.product.images.push_back(image);
  IndexedObject object;
  object.label = "cup";
  object.score = 0.8F;
  object.box = ImageBox{1, 2, 3, 4};
  object.embedding = {1.F, 0.F, 0.F};
  r.objects.push_back(object);
  return r;
}

std::vector<std::string> ids_of(const ProductPage& page) {
  std::vector<std::string> ids;
  for (const Product& p : page.products) ids.push_back(p.id);
  return ids;
}

class CatalogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = CatalogStore::open(dir_.path(), true);
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    auto upserted =
        store_->upsert({make_record("mug-1", "Blue ceramic mug", "Mugs & Cups", 12.0, {{"color", "Blue"}}),
                        make_record("mug-2", "Red enamel mugs", "Mugs & Cups", 25.0, {{"color", "red"}}),
                        make_record("tv-1", "Flat television", "Televisions", 499.0),
                        make_record("book-1", "A novel", "Books", std::nullopt)});
    ASSERT_TRUE(upserted) << upserted.error().message;
    EXPECT_EQ(upserted->inserted, 4);
    EXPECT_EQ(upserted->generation, 1);
  }
  TempDir dir_;
  std::unique_ptr<CatalogStore> store_;
};

TEST_F(CatalogStoreTest, GetReturnsEverythingStored) {
  auto p = store_->get("mug-1");
  ASSERT_TRUE(p && p->has_value());
  EXPECT_EQ((*p)->title, "Blue ceramic mug");
  EXPECT_EQ((*p)->category, "Mugs & Cups");
  EXPECT_DOUBLE_EQ(*(*p)->price, 12.0);
  EXPECT_EQ((*p)->attributes.at("color"), "Blue");
  ASSERT_EQ((*p)->images.size(), 1U);
  EXPECT_EQ((*p)->images[0].height, 20);
  EXPECT_GT((*p)->updated_at, 0);
  EXPECT_FALSE((*store_->get("nope")).has_value());
  EXPECT_FALSE((*store_->get("book-1"))->price.has_value());
}

TEST_F(CatalogStoreTest, FullTextUsesStemmingAndFilters) {
  ProductQuery q;
  q.text = "mug";
  EXPECT_EQ(ids_of(*store_->query(q)).size(), 2U);  // "mugs" matches "mug" (porter stemmer)
  q.text = "ceram";                                 // prefix on the last word
  EXPECT_EQ(ids_of(*store_->query(q)), std::vector<std::string>{"mug-1"});
  q.text = "";
  q.filters.category = "mugs & cups";  // case-insensitive
  EXPECT_EQ(store_->query(q)->total, 2);
  q.filters.max_price = 20.0;
  EXPECT_EQ(ids_of(*store_->query(q)), std::vector<std::string>{"mug-1"});
  q.filters = {};
  q.filters.attributes["color"] = "RED";
  EXPECT_EQ(ids_of(*store_->query(q)), std::vector<std::string>{"mug-2"});
  q.filters = {};
  q.filters.min_price = 100.0;
  EXPECT_EQ(ids_of(*store_->query(q)), std::vector<std::string>{"tv-1"});
  q.filters = {};
  q.limit = 2;
  q.offset = 1;
  auto page = store_->query(q);
  EXPECT_EQ(page->total, 4);
  EXPECT_EQ(page->products.size(), 2U);
  // FTS syntax in user text is only words.
  q = {};
  q.text = "\"mug\" OR NEAR(";
  EXPECT_TRUE(store_->query(q));
}

TEST_F(CatalogStoreTest, UpsertReplacesAndDeleteRemovesEverywhere) {
  auto again = store_->upsert({make_record("mug-1", "Green mug", "Mugs & Cups", 10.0)});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->updated, 1);
  EXPECT_EQ(again->generation, 2);
  ProductQuery q;
  q.text = "ceramic";
  EXPECT_EQ(store_->query(q)->total, 0);  // the old title left the full-text index
  q.text = "green";
  EXPECT_EQ(store_->query(q)->total, 1);
  EXPECT_EQ(store_->stats()->vectors, 4);  // replaced, not added

  auto removed = store_->remove({"mug-1", "unknown"});
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, std::vector<std::string>{"mug-1"});
  EXPECT_FALSE((*store_->get("mug-1")).has_value());
  EXPECT_EQ(store_->query(q)->total, 0);
  auto stats = store_->stats();
  EXPECT_EQ(stats->products, 3);
  EXPECT_EQ(stats->vectors, 3);
  EXPECT_EQ(stats->generation, 3);
  EXPECT_EQ(stats->categories.at("Mugs & Cups"), 1);
}

TEST_F(CatalogStoreTest, AFailingUpsertChangesNothing) {
  ProductRecord broken = make_record("mug-9", "Broken", "Mugs & Cups", 1.0);
  broken.product.images.push_back(broken.product.images[0]);  // duplicate image n: PRIMARY KEY violation
  auto result = store_->upsert({make_record("new-1", "New", "Books", 1.0), broken});
  ASSERT_FALSE(result);
  EXPECT_FALSE((*store_->get("new-1")).has_value());
  EXPECT_EQ(store_->stats()->generation, 1);
  EXPECT_EQ(store_->stats()->products, 4);
}

TEST_F(CatalogStoreTest, ReadersKeepTheirSnapshot) {
  auto reader = store_->reader();
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->generation(), 1);
  std::thread writer([&] {
    auto other = CatalogStore::open(dir_.path(), false);  // another connection, as another process would
    ASSERT_TRUE(other);
    ASSERT_TRUE((*other)->upsert({make_record("late", "Late arrival", "Books", 3.0)}));
    ASSERT_TRUE((*other)->remove({"tv-1"}));
  });
  writer.join();
  EXPECT_FALSE((*reader->get("late")).has_value());
  EXPECT_TRUE((*reader->get("tv-1")).has_value());
  EXPECT_EQ(reader->stats()->products, 4);
  int vectors = 0;
  ASSERT_TRUE(reader->for_each_vector([&](const StoredVector&) { ++vectors; }));
  EXPECT_EQ(vectors, 4);
  auto fresh = store_->reader();
  EXPECT_EQ(fresh->generation(), 3);
  EXPECT_TRUE((*fresh->get("late")).has_value());
  EXPECT_FALSE((*fresh->get("tv-1")).has_value());
}

TEST_F(CatalogStoreTest, DatabaseIsWalAndSurvivesReopen) {
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.file(CatalogStore::kDatabaseFile).c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");  // NOLINT
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  auto reopened = CatalogStore::open(dir_.path(), false);
  ASSERT_TRUE(reopened);
  EXPECT_EQ((*reopened)->stats()->products, 4);
  EXPECT_EQ(CatalogStore::open(dir_.file("elsewhere"), false).error().code, ErrorCode::kNotFound);
}

TEST_F(CatalogStoreTest, EmbedderIsBoundOnce) {
  ASSERT_TRUE(store_->bind_embedder("mobilenetv2_embed", 1280, "picodet_s_416"));
  EXPECT_TRUE(store_->bind_embedder("mobilenetv2_embed", 1280, "yolox_nano"));
  auto other = store_->bind_embedder("other_embed", 512, "picodet_s_416");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->stats()->embedder, "mobilenetv2_embed");
  EXPECT_EQ(store_->stats()->dimension, 1280);
}

TEST_F(CatalogStoreTest, ImagesAreContentAddressedAndCollected) {
  const std::string jpeg = testing::solid_jpeg(8, 8, 1, 2, 3);
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(jpeg.data()),
                                            jpeg.size());  // NOLINT
  auto a = store_->store_image(bytes, ImageFormat::kJpeg);
  auto b = store_->store_image(bytes, ImageFormat::kJpeg);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->file, b->file);
  EXPECT_EQ(a->file.substr(0, 10), "images/" + a->sha256.substr(0, 2) + "/");
  EXPECT_TRUE(std::filesystem::exists(store_->image_path(*a)));
  EXPECT_EQ(*store_->collect_garbage(3600), 0);  // too young
  EXPECT_EQ(*store_->collect_garbage(0), 1);     // unreferenced
  EXPECT_FALSE(std::filesystem::exists(store_->image_path(*a)));
}

// The shop URL is stored and read back, replaced by an update; a catalog made before the column existed
// gains it when opened (its products read with no URL) and keeps its products.
TEST_F(CatalogStoreTest, ProductUrlIsStoredAndOldCatalogsGainTheColumn) {
  ProductRecord record = make_record("lamp-1", "Desk lamp", "Lamps", 30.0);
  record.product.url = "https://shop.example/lamp-1";
  ASSERT_TRUE(store_->upsert({record}));
  EXPECT_EQ((*store_->get("lamp-1"))->url, "https://shop.example/lamp-1");
  EXPECT_EQ((*store_->get("mug-1"))->url, "");
  record.product.url = "https://shop.example/lamp-1-new";
  ASSERT_TRUE(store_->upsert({record}));
  EXPECT_EQ((*store_->get("lamp-1"))->url, "https://shop.example/lamp-1-new");
  store_.reset();

  // Take the column away again, as a catalog written before it looked (SQLite >= 3.35 drops columns).
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() + "/" + CatalogStore::kDatabaseFile).c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int dropped = sqlite3_exec(db, "ALTER TABLE products DROP COLUMN url", nullptr, nullptr, &error);
  ASSERT_EQ(dropped, SQLITE_OK) << (error != nullptr ? error : "");
  sqlite3_close(db);

  auto reopened = CatalogStore::open(dir_.path(), false);
  ASSERT_TRUE(reopened) << reopened.error().message;
  auto lamp = (*reopened)->get("lamp-1");
  ASSERT_TRUE(lamp && lamp->has_value()) << (lamp ? "" : lamp.error().message);
  EXPECT_EQ((*lamp)->title, "Desk lamp");
  EXPECT_EQ((*lamp)->url, "");
}

TEST(FtsExpressions, QuoteEveryPhrase) {
  EXPECT_EQ(fts_any_phrase({"cup", "Coffee mug", "cup", "\"); DROP"}),
            "\"cup\" OR \"coffee mug\" OR \"drop\"");
  EXPECT_EQ(fts_any_phrase({"--", ""}), "");
  EXPECT_EQ(fts_all_words("red MU"), "\"red\" \"mu\"*");
  EXPECT_EQ(fts_all_words("  "), "");
}

}  // namespace
}  // namespace visearch::search
