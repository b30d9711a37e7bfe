#include "search/catalog_store.h"

#include "core/json_text.h"
#include "core/sha256.h"
#include "io/image_decode.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <set>
#include <system_error>
#include <thread>

#include <nlohmann/json.hpp>

namespace visearch::search {
namespace {

namespace fs = std::filesystem;

constexpr int kSchemaVersion = 1;
constexpr std::size_t kMaxIdleConnections = 8;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS products(
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  category TEXT NOT NULL DEFAULT '',
  brand TEXT NOT NULL DEFAULT '',
  price REAL,
  currency TEXT NOT NULL DEFAULT '',
  attributes TEXT NOT NULL DEFAULT '{}',
  updated_at INTEGER NOT NULL,
  url TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS products_category ON products(category COLLATE NOCASE);
CREATE TABLE IF NOT EXISTS product_images(
  product_id TEXT NOT NULL,
  n INTEGER NOT NULL,
  file TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  content_type TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  source TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(product_id, n));
CREATE INDEX IF NOT EXISTS product_images_sha ON product_images(sha256);
CREATE TABLE IF NOT EXISTS image_objects(
  vector_id INTEGER PRIMARY KEY AUTOINCREMENT,
  product_id TEXT NOT NULL,
  image_n INTEGER NOT NULL,
  label TEXT NOT NULL,
  score REAL NOT NULL,
  x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,
  embedding BLOB NOT NULL,
  colour BLOB);
CREATE INDEX IF NOT EXISTS image_objects_product ON image_objects(product_id);
CREATE VIRTUAL TABLE IF NOT EXISTS products_fts USING fts5(
  id UNINDEXED, title, description, category, brand, extra,
  tokenize = 'porter unicode61 remove_diacritics 2');
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '1'), ('generation', '0');
)sql";

// bm25 column weights: id (unindexed), title, description, category, brand, extra (attribute values).
constexpr const char* kBm25 = "bm25(products_fts, 0.0, 4.0, 1.0, 2.0, 1.0, 1.0)";

constexpr const char* kProductColumns =
    "p.id, p.title, p.description, p.category, p.brand, p.price, p.currency, p.attributes, p.updated_at, "
    "p.url";

Error io_error(const std::string& what, int err) {
  return Error{ErrorCode::kIo, what + ": " + std::error_code(err, std::generic_category()).message()};
}

std::string_view extension_of(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg:
      return "jpg";
    case ImageFormat::kPng:
      return "png";
    case ImageFormat::kWebp:
      return "webp";
    case ImageFormat::kBmp:
      return "bmp";
    case ImageFormat::kUnknown:
      break;
  }
  return "bin";
}

Status fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open " + dir, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return io_error("cannot sync " + dir, err);
  return ok_status();
}

// Writes to a temporary file beside `path`, fsyncs it, renames it over `path`, fsyncs the folder.
Status write_file_atomic(const std::string& path, std::span<const std::uint8_t> bytes) {
  const fs::path target(path);
  std::random_device entropy;
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(entropy());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot create " + tmp, errno);
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return io_error("cannot write " + tmp, err);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return io_error("cannot sync " + tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return io_error("cannot rename " + tmp, err);
  }
  return fsync_dir(target.parent_path().string());
}

std::vector<std::uint8_t> embedding_blob(const std::vector<float>& v) {
  std::vector<std::uint8_t> out(v.size() * sizeof(float));
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

std::vector<float> blob_embedding(std::span<const std::uint8_t> blob) {
  std::vector<float> out(blob.size() / sizeof(float));
  std::memcpy(out.data(), blob.data(), out.size() * sizeof(float));
  return out;
}

// Attribute values (and keys) as free text for the FTS "extra" column.
std::string attribute_text(const std::map<std::string, std::string>& attributes) {
  std::string text;
  for (const auto& [key, value] : attributes) {
    text.append(key).append(" ").append(value).append(" ");
  }
  return text;
}

// Adds a column that catalogs made by older visearch builds lack (their rows get its default). Those builds
// still read the file, which is why the schema version stays.
Status add_column_if_missing(SqliteDb& db, const std::string& table, const std::string& column,
                             const std::string& definition) {
  auto has = db.prepare("SELECT 1 FROM pragma_table_info('" + table + "') WHERE name = '" + column + "'");
  if (!has) return has.error();
  auto found = has->step();
  if (!found) return found.error();
  if (*found) return ok_status();
  return db.exec("ALTER TABLE " + table + " ADD COLUMN " + column + " " + definition);
}

Result<std::string> meta_value(SqliteDb& db, const std::string& key) {
  auto stmt = db.prepare("SELECT value FROM meta WHERE key = ?");
  if (!stmt) return stmt.error();
  stmt->bind(1, key);
  auto row = stmt->step();
  if (!row) return row.error();
  return *row ? stmt->column_text(0) : std::string();
}

Status set_meta(SqliteDb& db, const std::string& key, const std::string& value) {
  auto stmt = db.prepare(
      "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  if (!stmt) return stmt.error();
  stmt->bind(1, key).bind(2, value);
  return stmt->run();
}

Result<std::int64_t> bump_generation(SqliteDb& db) {
  VISEARCH_TRY(
      db.exec("UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'generation'"));
  auto value = meta_value(db, "generation");
  if (!value) return value.error();
  return std::strtoll(value->c_str(), nullptr, 10);
}

Product read_product_row(const SqliteStmt& stmt) {
  Product p;
  p.id = stmt.column_text(0);
  p.title = stmt.column_text(1);
  p.description = stmt.column_text(2);
  p.category = stmt.column_text(3);
  p.brand = stmt.column_text(4);
  p.price = stmt.column_optional_double(5);
  p.currency = stmt.column_text(6);
  const nlohmann::json attributes = nlohmann::json::parse(stmt.column_text(7), nullptr, false);
  if (attributes.is_object()) {
    for (const auto& [key, value] : attributes.items()) {
      if (value.is_string()) p.attributes[key] = value.get<std::string>();
    }
  }
  p.updated_at = stmt.column_int(8);
  p.url = stmt.column_text(9);
  return p;
}

Status load_images(SqliteDb& db, Product& product) {
  auto stmt = db.prepare(
      "SELECT n, file, sha256, content_type, width, height, source FROM product_images WHERE product_id = ? "
      "ORDER BY n");
  if (!stmt) return stmt.error();
  stmt->bind(1, product.id);
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    ProductImage image;
    image.n = static_cast<int>(stmt->column_int(0));
    image.file = stmt->column_text(1);
    image.sha256 = stmt->column_text(2);
    image.content_type = stmt->column_text(3);
    image.width = static_cast<int>(stmt->column_int(4));
    image.height = static_cast<int>(stmt->column_int(5));
    image.source = stmt->column_text(6);
    product.images.push_back(std::move(image));
  }
  return ok_status();
}

Result<std::optional<Product>> get_product(SqliteDb& db, const std::string& id) {
  auto stmt = db.prepare(std::string("SELECT ") + kProductColumns + " FROM products p WHERE p.id = ?");
  if (!stmt) return stmt.error();
  stmt->bind(1, id);
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return std::optional<Product>();
  Product product = read_product_row(*stmt);
  VISEARCH_TRY(load_images(db, product));
  return std::optional<Product>(std::move(product));
}

// SQL for ProductFilters over `products p`; appends conditions and their bound values.
struct SqlFilter {
  std::string where;  // " AND ..." clauses
  std::vector<std::string> texts;
  std::vector<double> numbers;
  std::vector<char> order;  // 't' or 'n', in parameter order
};

SqlFilter filter_sql(const ProductFilters& filters) {
  SqlFilter sql;
  if (!filters.category.empty()) {
    sql.where += " AND p.category = ? COLLATE NOCASE";
    sql.texts.push_back(filters.category);
    sql.order.push_back('t');
  }
  if (filters.min_price) {
    sql.where += " AND p.price >= ?";
    sql.numbers.push_back(*filters.min_price);
    sql.order.push_back('n');
  }
  if (filters.max_price) {
    sql.where += " AND p.price <= ?";
    sql.numbers.push_back(*filters.max_price);
    sql.order.push_back('n');
  }
  for (const auto& [key, value] : filters.attributes) {
    sql.where += " AND json_extract(p.attributes, ?) = ? COLLATE NOCASE";
    sql.texts.push_back("$.\"" + key + "\"");
    sql.texts.push_back(value);
    sql.order.push_back('t');
    sql.order.push_back('t');
  }
  return sql;
}

// Binds the filter's values starting at `first`; returns the next free index.
int bind_filter(SqliteStmt& stmt, const SqlFilter& sql, int first) {
  std::size_t text = 0;
  std::size_t number = 0;
  int index = first;
  for (char kind : sql.order) {
    if (kind == 't') {
      stmt.bind(index++, sql.texts[text++]);
    } else {
      stmt.bind(index++, sql.numbers[number++]);
    }
  }
  return index;
}

// The words of free text, lower-cased: runs of ASCII letters and digits or of non-ASCII bytes (UTF-8).
std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || u >= 0x80) {
      word.push_back(static_cast<char>(std::tolower(u)));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

int test_delay_ms() {
  const char* value = std::getenv("VISEARCH_TEST_UPSERT_ROW_DELAY_MS");
  return value != nullptr ? std::atoi(value) : 0;
}

}  // namespace

std::string fts_any_phrase(const std::vector<std::string>& phrases) {
  std::string expr;
  std::set<std::string> seen;
  for (const std::string& phrase : phrases) {
    std::string words;
    std::string word;
    const auto flush = [&] {
      if (!word.empty()) words += (words.empty() ? "" : " ") + word;
      word.clear();
    };
    for (char c : phrase) {
      const auto u = static_cast<unsigned char>(c);
      if (std::isalnum(u) != 0 || u >= 0x80) {
        word.push_back(static_cast<char>(std::tolower(u)));
      } else {
        flush();
      }
    }
    flush();
    if (words.empty() || !seen.insert(words).second) continue;
    expr += (expr.empty() ? "\"" : " OR \"") + words + "\"";
  }
  return expr;
}

std::string fts_any_word(const std::string& text, std::size_t max_words) {
  std::vector<std::string> words = words_of(text);
  if (words.size() > max_words) words.resize(max_words);
  return fts_any_phrase(words);
}

std::string fts_all_words(const std::string& text) {
  const std::vector<std::string> words = words_of(text);
  std::string expr;
  for (std::size_t i = 0; i < words.size(); ++i) {
    expr += (i == 0 ? "\"" : " \"") + words[i] + "\"" + (i + 1 == words.size() ? "*" : "");
  }
  return expr;
}

// ---------------------------------------------------------------------------------------------- store

struct CatalogReader::Impl {
  CatalogStore* store = nullptr;
  std::unique_ptr<SqliteDb> db;
  bool open = false;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  Impl(Impl&&) = delete;
  Impl& operator=(Impl&&) = delete;

  ~Impl() {
    if (db == nullptr) return;
    if (open) static_cast<void>(db->exec("COMMIT"));
    store->give_back(std::move(db));
  }
};

Result<std::unique_ptr<CatalogStore>> CatalogStore::open(const std::string& data_dir, bool create) {
  if (data_dir.empty())
    return Unexpected{ErrorCode::kInvalidArgument, "no catalog data directory given (--data-dir)"};
  const std::string db_path = (fs::path(data_dir) / kDatabaseFile).string();
  std::error_code ec;
  if (!fs::exists(db_path, ec)) {
    if (!create) {
      return Unexpected{ErrorCode::kNotFound,
                        "no catalog in " + data_dir + " (" + kDatabaseFile +
                            " missing); import products first: visearch catalog import"};
    }
    fs::create_directories(fs::path(data_dir) / "images", ec);
    if (ec) return Unexpected{ErrorCode::kIo, "cannot create " + data_dir + ": " + ec.message()};
  }
  auto db = SqliteDb::open(db_path, create ? SqliteDb::Mode::kReadWriteCreate : SqliteDb::Mode::kReadWrite);
  if (!db) return db.error();
  // WAL is a property of the file (persistent); readers then never block the writer and vice versa.
  VISEARCH_TRY((*db)->exec("PRAGMA journal_mode = WAL"));
  VISEARCH_TRY((*db)->exec("PRAGMA synchronous = FULL"));
  {
    auto txn = SqliteTxn::begin(**db, "IMMEDIATE");
    if (!txn) return txn.error();
    VISEARCH_TRY((*db)->exec(kSchema));
    // Products' shop URL (empty for older products) and objects' colour profile (search/colour.h; NULL,
    // "unknown", for objects indexed before: a later import of the same image computes it).
    VISEARCH_TRY(add_column_if_missing(**db, "products", "url", "TEXT NOT NULL DEFAULT ''"));
    VISEARCH_TRY(add_column_if_missing(**db, "image_objects", "colour", "BLOB"));
    VISEARCH_TRY(txn->commit());
  }
  auto version = meta_value(**db, "schema_version");
  if (!version) return version.error();
  if (std::atoi(version->c_str()) != kSchemaVersion) {
    return Unexpected{ErrorCode::kInvalidArgument, "catalog " + db_path + " has schema version " + *version +
                                                       "; this visearch reads version " +
                                                       std::to_string(kSchemaVersion)};
  }
  fs::create_directories(fs::path(data_dir) / "images", ec);
  std::unique_ptr<CatalogStore> store(new CatalogStore(data_dir, db_path));
  store->give_back(std::move(*db));
  return store;
}

CatalogStore::~CatalogStore() = default;

Result<std::unique_ptr<SqliteDb>> CatalogStore::lease() {
  {
    std::lock_guard lock(pool_mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<SqliteDb> db = std::move(idle_.back());
      idle_.pop_back();
      return db;
    }
  }
  auto db = SqliteDb::open(db_path_, SqliteDb::Mode::kReadWrite);
  if (!db) return db.error();
  VISEARCH_TRY((*db)->exec("PRAGMA synchronous = FULL"));
  return std::move(*db);
}

void CatalogStore::give_back(std::unique_ptr<SqliteDb> db) {
  std::lock_guard lock(pool_mutex_);
  if (idle_.size() < kMaxIdleConnections) idle_.push_back(std::move(db));
}

std::string CatalogStore::image_path(const ProductImage& image) const {
  return (fs::path(data_dir_) / image.file).string();
}

Result<ProductImage> CatalogStore::store_image(std::span<const std::uint8_t> bytes, ImageFormat format) {
  ProductImage image;
  image.sha256 = sha256_hex(bytes);
  image.content_type = std::string(image_content_type(format));
  const std::string dir = "images/" + image.sha256.substr(0, 2);
  image.file = dir + "/" + image.sha256 + "." + std::string(extension_of(format));
  const std::string path = image_path(image);
  std::error_code ec;
  if (fs::is_regular_file(path, ec) && fs::file_size(path, ec) == bytes.size()) return image;
  fs::create_directories(fs::path(data_dir_) / dir, ec);
  if (ec)
    return Unexpected{ErrorCode::kIo, "cannot create " + dir + " in " + data_dir_ + ": " + ec.message()};
  VISEARCH_TRY(write_file_atomic(path, bytes));
  return image;
}

Status CatalogStore::bind_embedder(const std::string& embedder, int dimension, const std::string& detector) {
  std::lock_guard write_lock(write_mutex_);
  auto db = lease();
  if (!db) return db.error();
  Status status = [&]() -> Status {
    auto txn = SqliteTxn::begin(**db, "IMMEDIATE");
    if (!txn) return txn.error();
    auto stored = meta_value(**db, "embedder");
    if (!stored) return stored.error();
    auto stored_dim = meta_value(**db, "dimension");
    if (!stored_dim) return stored_dim.error();
    if (!stored->empty()) {
      if (*stored != embedder || std::atoi(stored_dim->c_str()) != dimension) {
        return Unexpected{ErrorCode::kInvalidArgument,
                          "the catalog in " + data_dir_ + " holds embeddings of " + *stored + " (" +
                              *stored_dim + "-d); this run uses " + embedder + " (" +
                              std::to_string(dimension) +
                              "-d). Use the same --embed-model, or import into a new --data-dir"};
      }
      return txn->commit();
    }
    VISEARCH_TRY(set_meta(**db, "embedder", embedder));
    VISEARCH_TRY(set_meta(**db, "dimension", std::to_string(dimension)));
    VISEARCH_TRY(set_meta(**db, "detector", detector));
    return txn->commit();
  }();
  give_back(std::move(*db));
  return status;
}

Result<UpsertResult> CatalogStore::upsert(const std::vector<ProductRecord>& records) {
  std::lock_guard write_lock(write_mutex_);
  auto db = lease();
  if (!db) return db.error();
  const int delay_ms = test_delay_ms();
  Result<UpsertResult> result = [&]() -> Result<UpsertResult> {
    SqliteDb& d = **db;
    auto txn = SqliteTxn::begin(d, "IMMEDIATE");
    if (!txn) return txn.error();
    auto exists = d.prepare("SELECT rowid FROM products WHERE id = ?");
    auto upsert_product = d.prepare(
        "INSERT INTO products(id, title, description, category, brand, price, currency, attributes, "
        "updated_at, url) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET title = excluded.title, "
        "description = excluded.description, category = excluded.category, brand = excluded.brand, "
        "price = excluded.price, currency = excluded.currency, attributes = excluded.attributes, "
        "updated_at = excluded.updated_at, url = excluded.url");
    auto delete_fts = d.prepare("DELETE FROM products_fts WHERE rowid = ?");
    auto insert_fts = d.prepare(
        "INSERT INTO products_fts(rowid, id, title, description, category, brand, extra) VALUES (?, ?, ?, ?, "
        "?, ?, ?)");
    auto delete_images = d.prepare("DELETE FROM product_images WHERE product_id = ?");
    auto delete_objects = d.prepare("DELETE FROM image_objects WHERE product_id = ?");
    auto insert_image = d.prepare(
        "INSERT INTO product_images(product_id, n, file, sha256, content_type, width, height, source) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    auto insert_object = d.prepare(
        "INSERT INTO image_objects(product_id, image_n, label, score, x1, y1, x2, y2, embedding, colour) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (auto* stmt : {&exists, &upsert_product, &delete_fts, &insert_fts, &delete_images, &delete_objects,
                       &insert_image, &insert_object}) {
      if (!*stmt) return stmt->error();
    }
    UpsertResult out;
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    for (const ProductRecord& record : records) {
      const Product& p = record.product;
      exists->reset();
      exists->bind(1, p.id);
      auto found = exists->step();
      if (!found) return found.error();
      const bool existed = *found;
      nlohmann::json attributes = nlohmann::json::object();
      for (const auto& [key, value] : p.attributes) attributes[key] = value;
      upsert_product->reset();
      upsert_product->bind(1, p.id)
          .bind(2, p.title)
          .bind(3, p.description)
          .bind(4, p.category)
          .bind(5, p.brand);
      upsert_product->bind(6, p.price).bind(7, p.currency).bind(8, to_json_text(attributes)).bind(9, now);
      upsert_product->bind(10, p.url);
      VISEARCH_TRY(upsert_product->run());
      exists->reset();
      exists->bind(1, p.id);
      auto rowid_row = exists->step();
      if (!rowid_row) return rowid_row.error();
      const std::int64_t rowid = exists->column_int(0);
      exists->reset();
      delete_fts->reset();
      delete_fts->bind(1, rowid);
      VISEARCH_TRY(delete_fts->run());
      insert_fts->reset();
      insert_fts->bind(1, rowid).bind(2, p.id).bind(3, p.title).bind(4, p.description).bind(5, p.category);
      insert_fts->bind(6, p.brand).bind(7, attribute_text(p.attributes));
      VISEARCH_TRY(insert_fts->run());
      delete_images->reset();
      delete_images->bind(1, p.id);
      VISEARCH_TRY(delete_images->run());
      delete_objects->reset();
      delete_objects->bind(1, p.id);
      VISEARCH_TRY(delete_objects->run());
      for (const ProductImage& image : p.images) {
        insert_image->reset();
        insert_image->bind(1, p.id).bind(2, std::int64_t{image.n}).bind(3, image.file).bind(4, image.sha256);
        insert_image->bind(5, image.content_type)
            .bind(6, std::int64_t{image.width})
            .bind(7, std::int64_t{image.height});
        insert_image->bind(8, image.source);
        VISEARCH_TRY(insert_image->run());
      }
      for (const IndexedObject& object : record.objects) {
        insert_object->reset();
        insert_object->bind(1, p.id).bind(2, std::int64_t{object.image_n}).bind(3, object.label);
        insert_object->bind(4, static_cast<double>(object.score)).bind(5, static_cast<double>(object.box.x1));
        insert_object->bind(6, static_cast<double>(object.box.y1))
            .bind(7, static_cast<double>(object.box.x2));
        insert_object->bind(8, static_cast<double>(object.box.y2))
            .bind_blob(9, embedding_blob(object.embedding));
        insert_object->bind_blob(
            10, has_colour(object.colour) ? colour_bytes(object.colour) : std::vector<std::uint8_t>{});
        VISEARCH_TRY(insert_object->run());
      }
      ++(existed ? out.updated : out.inserted);
      if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    }
    auto generation = bump_generation(d);
    if (!generation) return generation.error();
    out.generation = *generation;
    VISEARCH_TRY(txn->commit());
    return out;
  }();
  give_back(std::move(*db));
  return result;
}

Result<std::vector<std::string>> CatalogStore::remove(const std::vector<std::string>& ids) {
  std::lock_guard write_lock(write_mutex_);
  auto db = lease();
  if (!db) return db.error();
  Result<std::vector<std::string>> result = [&]() -> Result<std::vector<std::string>> {
    SqliteDb& d = **db;
    auto txn = SqliteTxn::begin(d, "IMMEDIATE");
    if (!txn) return txn.error();
    auto find = d.prepare("SELECT rowid FROM products WHERE id = ?");
    if (!find) return find.error();
    std::vector<std::string> removed;
    for (const std::string& id : ids) {
      find->reset();
      find->bind(1, id);
      auto row = find->step();
      if (!row) return row.error();
      if (!*row) continue;
      const std::int64_t rowid = find->column_int(0);
      find->reset();
      for (const char* sql :
           {"DELETE FROM products_fts WHERE rowid = ?1", "DELETE FROM products WHERE rowid = ?1"}) {
        auto stmt = d.prepare(sql);
        if (!stmt) return stmt.error();
        stmt->bind(1, rowid);
        VISEARCH_TRY(stmt->run());
      }
      for (const char* sql : {"DELETE FROM product_images WHERE product_id = ?1",
                              "DELETE FROM image_objects WHERE product_id = ?1"}) {
        auto stmt = d.prepare(sql);
        if (!stmt) return stmt.error();
        stmt->bind(1, id);
        VISEARCH_TRY(stmt->run());
      }
      removed.push_back(id);
    }
    if (!removed.empty()) {
      auto generation = bump_generation(d);
      if (!generation) return generation.error();
    }
    VISEARCH_TRY(txn->commit());
    return removed;
  }();
  give_back(std::move(*db));
  return result;
}

// The indexed objects of a product (image_n < 0: of all its images), in vector_id order.
static Result<std::vector<IndexedObject>> read_objects(SqliteDb& db, const std::string& product_id,
                                                       std::int64_t n) {
  auto objects = db.prepare(
      "SELECT label, score, x1, y1, x2, y2, embedding, image_n, colour FROM image_objects WHERE product_id = "
      "? "
      "AND "
      "(? < 0 OR image_n = ?) ORDER BY vector_id");
  if (!objects) return objects.error();
  objects->bind(1, product_id).bind(2, n).bind(3, n);
  std::vector<IndexedObject> out;
  for (;;) {
    auto more = objects->step();
    if (!more) return more.error();
    if (!*more) break;
    IndexedObject object;
    object.label = objects->column_text(0);
    object.score = static_cast<float>(objects->column_double(1));
    object.box = ImageBox{
        static_cast<float>(objects->column_double(2)), static_cast<float>(objects->column_double(3)),
        static_cast<float>(objects->column_double(4)), static_cast<float>(objects->column_double(5))};
    object.embedding = blob_embedding(objects->column_blob(6));
    object.image_n = static_cast<int>(objects->column_int(7));
    object.colour = colour_from_bytes(objects->column_blob(8)).value_or(ColourProfile{});
    out.push_back(std::move(object));
  }
  return out;
}

Result<std::optional<std::vector<IndexedObject>>> CatalogStore::indexed_objects_for(
    const std::string& sha256) {
  auto db = lease();
  if (!db) return db.error();
  Result<std::optional<std::vector<IndexedObject>>> result =
      [&]() -> Result<std::optional<std::vector<IndexedObject>>> {
    auto image = (*db)->prepare("SELECT product_id, n FROM product_images WHERE sha256 = ? LIMIT 1");
    if (!image) return image.error();
    image->bind(1, sha256);
    auto row = image->step();
    if (!row) return row.error();
    if (!*row) return std::optional<std::vector<IndexedObject>>();
    const std::string product_id = image->column_text(0);
    const std::int64_t n = image->column_int(1);
    auto out = read_objects(**db, product_id, n);
    if (!out) return out.error();
    if (out->empty()) return std::optional<std::vector<IndexedObject>>();
    return std::optional<std::vector<IndexedObject>>(std::move(*out));
  }();
  give_back(std::move(*db));
  return result;
}

Result<int> CatalogStore::collect_garbage(int min_age_s) {
  std::set<std::string> referenced;
  {
    auto db = lease();
    if (!db) return db.error();
    auto stmt = (*db)->prepare("SELECT DISTINCT file FROM product_images");
    if (!stmt) return stmt.error();
    for (;;) {
      auto row = stmt->step();
      if (!row) return row.error();
      if (!*row) break;
      referenced.insert(stmt->column_text(0));
    }
    give_back(std::move(*db));
  }
  int removed = 0;
  std::error_code ec;
  const fs::path root(data_dir_);
  const auto now = fs::file_time_type::clock::now();
  for (auto it = fs::recursive_directory_iterator(root / "images", ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string rel = fs::relative(it->path(), root, ec).string();
    if (referenced.count(rel) != 0) continue;
    const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - it->last_write_time(ec)).count();
    if (age < min_age_s) continue;
    if (fs::remove(it->path(), ec)) ++removed;
  }
  return removed;
}

Result<CatalogReader> CatalogStore::reader() {
  auto db = lease();
  if (!db) return db.error();
  auto impl = std::make_unique<CatalogReader::Impl>();
  impl->store = this;
  impl->db = std::move(*db);
  auto begun = impl->db->exec("BEGIN");
  if (!begun) return begun.error();
  impl->open = true;
  auto generation = meta_value(*impl->db, "generation");  // the first read fixes the snapshot
  if (!generation) return generation.error();
  CatalogReader reader(std::move(impl));
  reader.generation_ = std::strtoll(generation->c_str(), nullptr, 10);
  return reader;
}

Result<std::optional<Product>> CatalogStore::get(const std::string& id) {
  auto r = reader();
  if (!r) return r.error();
  return r->get(id);
}

Result<ProductPage> CatalogStore::query(const ProductQuery& q) {
  auto r = reader();
  if (!r) return r.error();
  return r->query(q);
}

Result<CatalogStats> CatalogStore::stats() {
  auto r = reader();
  if (!r) return r.error();
  return r->stats();
}

// --------------------------------------------------------------------------------------------- reader

CatalogReader::CatalogReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CatalogReader::~CatalogReader() = default;
CatalogReader::CatalogReader(CatalogReader&&) noexcept = default;

Result<std::optional<Product>> CatalogReader::get(const std::string& id) {
  return get_product(*impl_->db, id);
}

Result<std::vector<IndexedObject>> CatalogReader::objects_of(const std::string& product_id) {
  return read_objects(*impl_->db, product_id, -1);
}

Status CatalogReader::for_each_vector(const std::function<void(const StoredVector&)>& visit) {
  auto stmt = impl_->db->prepare(
      "SELECT vector_id, product_id, image_n, label, embedding, colour FROM image_objects ORDER BY "
      "vector_id");
  if (!stmt) return stmt.error();
  std::vector<float> buffer;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    StoredVector v;
    v.vector_id = stmt->column_int(0);
    v.product_id = stmt->column_text(1);
    v.image_n = static_cast<int>(stmt->column_int(2));
    v.label = stmt->column_text(3);
    const std::span<const std::uint8_t> blob = stmt->column_blob(4);
    buffer.resize(blob.size() / sizeof(float));
    std::memcpy(buffer.data(), blob.data(), buffer.size() * sizeof(float));
    v.embedding = buffer;
    v.colour = colour_from_bytes(stmt->column_blob(5)).value_or(ColourProfile{});
    visit(v);
  }
  return ok_status();
}

Result<std::vector<std::pair<std::string, double>>> CatalogReader::full_text(const std::string& match,
                                                                             int limit) {
  std::vector<std::pair<std::string, double>> out;
  if (match.empty()) return out;
  auto stmt =
      impl_->db->prepare(std::string("SELECT id, ") + kBm25 +
                         " AS rank FROM products_fts WHERE products_fts MATCH ? ORDER BY rank LIMIT ?");
  if (!stmt) return stmt.error();
  stmt->bind(1, match).bind(2, std::int64_t{limit});
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    out.emplace_back(stmt->column_text(0), -stmt->column_double(1));
  }
  return out;
}

Result<std::vector<std::string>> CatalogReader::ids_in_categories(const std::vector<std::string>& categories,
                                                                  int limit) {
  std::vector<std::string> out;
  if (categories.empty()) return out;
  std::string sql = "SELECT id FROM products WHERE category COLLATE NOCASE IN (";
  for (std::size_t i = 0; i < categories.size(); ++i) sql += i == 0 ? "?" : ", ?";
  sql += ") ORDER BY id LIMIT ?";
  auto stmt = impl_->db->prepare(sql);
  if (!stmt) return stmt.error();
  int index = 1;
  for (const std::string& c : categories) stmt->bind(index++, c);
  stmt->bind(index, std::int64_t{limit});
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(stmt->column_text(0));
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> CatalogReader::product_categories() {
  auto stmt = impl_->db->prepare("SELECT id, category FROM products ORDER BY id");
  if (!stmt) return stmt.error();
  std::vector<std::pair<std::string, std::string>> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    out.emplace_back(stmt->column_text(0), stmt->column_text(1));
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::uint16_t>>> CatalogReader::declared_product_colours() {
  // The LIKE only skips products whose attributes cannot hold a colour key; declared_colours() decides.
  auto stmt =
      impl_->db->prepare("SELECT id, attributes FROM products WHERE attributes LIKE '%colo%' ORDER BY id");
  if (!stmt) return stmt.error();
  std::vector<std::pair<std::string, std::uint16_t>> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    const nlohmann::json json = nlohmann::json::parse(stmt->column_text(1), nullptr, false);
    if (!json.is_object()) continue;
    std::map<std::string, std::string> attributes;
    for (const auto& [key, value] : json.items()) {
      if (value.is_string()) attributes[key] = value.get<std::string>();
    }
    const std::uint16_t mask = declared_colours(attributes);
    if (mask != 0) out.emplace_back(stmt->column_text(0), mask);
  }
  return out;
}

Result<std::vector<std::string>> CatalogReader::ids_matching(const ProductFilters& filters) {
  const SqlFilter sql = filter_sql(filters);
  auto stmt = impl_->db->prepare("SELECT p.id FROM products p WHERE 1" + sql.where);
  if (!stmt) return stmt.error();
  bind_filter(*stmt, sql, 1);
  std::vector<std::string> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(stmt->column_text(0));
  }
  return out;
}

Result<Facets> CatalogReader::facets(const ProductFilters& filters) {
  const SqlFilter sql = filter_sql(filters);
  Facets out;
  for (const char* column : {"category", "brand"}) {
    auto stmt = impl_->db->prepare(std::string("SELECT p.") + column + ", count(*) FROM products p WHERE p." +
                                   column + " <> ''" + sql.where + " GROUP BY p." + column);
    if (!stmt) return stmt.error();
    bind_filter(*stmt, sql, 1);
    auto& counts = std::string(column) == "category" ? out.category : out.brand;
    for (;;) {
      auto row = stmt->step();
      if (!row) return row.error();
      if (!*row) break;
      counts[stmt->column_text(0)] = stmt->column_int(1);
    }
  }
  return out;
}

Result<ProductPage> CatalogReader::query(const ProductQuery& query) {
  const SqlFilter filter = filter_sql(query.filters);
  const std::string match = fts_all_words(query.text);
  std::string from = " FROM products p";
  std::string order = " ORDER BY p.title COLLATE NOCASE, p.id";
  if (!match.empty()) {
    from = " FROM products_fts JOIN products p ON p.rowid = products_fts.rowid";
    order = std::string(" ORDER BY ") + kBm25 + ", p.id";
  }
  const std::string where =
      std::string(" WHERE ") + (match.empty() ? "1" : "products_fts MATCH ?") + filter.where;
  ProductPage page;
  {
    auto count = impl_->db->prepare("SELECT count(*)" + from + where);
    if (!count) return count.error();
    int index = 1;
    if (!match.empty()) count->bind(index++, match);
    bind_filter(*count, filter, index);
    auto row = count->step();
    if (!row) return row.error();
    page.total = count->column_int(0);
  }
  auto stmt = impl_->db->prepare(std::string("SELECT ") + kProductColumns + from + where + order +
                                 " LIMIT ? OFFSET ?");
  if (!stmt) return stmt.error();
  int index = 1;
  if (!match.empty()) stmt->bind(index++, match);
  index = bind_filter(*stmt, filter, index);
  stmt->bind(index, std::int64_t{query.limit}).bind(index + 1, std::int64_t{query.offset});
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    page.products.push_back(read_product_row(*stmt));
  }
  for (Product& p : page.products) VISEARCH_TRY(load_images(*impl_->db, p));
  return page;
}

Result<CatalogStats> CatalogReader::stats() {
  CatalogStats stats;
  stats.generation = generation_;
  const auto scalar = [&](const char* sql) -> Result<std::int64_t> {
    auto stmt = impl_->db->prepare(sql);
    if (!stmt) return stmt.error();
    auto row = stmt->step();
    if (!row) return row.error();
    return *row ? stmt->column_int(0) : 0;
  };
  auto products = scalar("SELECT count(*) FROM products");
  auto images = scalar("SELECT count(*) FROM product_images");
  auto vectors = scalar("SELECT count(*) FROM image_objects");
  for (auto* r : {&products, &images, &vectors}) {
    if (!*r) return r->error();
  }
  stats.products = *products;
  stats.images = *images;
  stats.vectors = *vectors;
  auto categories =
      impl_->db->prepare("SELECT category, count(*) FROM products GROUP BY category ORDER BY category");
  if (!categories) return categories.error();
  for (;;) {
    auto row = categories->step();
    if (!row) return row.error();
    if (!*row) break;
    stats.categories[categories->column_text(0)] = categories->column_int(1);
  }
  auto embedder = meta_value(*impl_->db, "embedder");
  auto dimension = meta_value(*impl_->db, "dimension");
  auto detector = meta_value(*impl_->db, "detector");
  for (auto* r : {&embedder, &dimension, &detector}) {
    if (!*r) return r->error();
  }
  stats.embedder = *embedder;
  stats.dimension = std::atoi(dimension->c_str());
  stats.detector = *detector;
  std::error_code ec;
  for (const char* suffix : {"", "-wal"}) {
    const auto size = fs::file_size(impl_->store->db_path_ + suffix, ec);
    if (!ec) stats.database_bytes += size;
  }
  return stats;
}

}  // namespace visearch::search
