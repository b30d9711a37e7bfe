#include "search/sqlite_db.h"

#include <sqlite3.h>

#include <utility>

namespace visearch::search {
namespace {

ErrorCode code_for(int rc) {
  const int primary = rc & 0xFF;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return ErrorCode::kUnavailable;
  if (primary == SQLITE_CANTOPEN) return ErrorCode::kNotFound;
  if (primary == SQLITE_CONSTRAINT || primary == SQLITE_MISMATCH || primary == SQLITE_RANGE) {
    return ErrorCode::kInvalidArgument;
  }
  return ErrorCode::kIo;
}

std::string shorten(std::string_view sql) {
  std::string out(sql.substr(0, 80));
  for (char& c : out) {
    if (c == '\n') c = ' ';
  }
  return sql.size() > 80 ? out + "..." : out;
}

}  // namespace

Result<std::unique_ptr<SqliteDb>> SqliteDb::open(const std::string& path, Mode mode, int busy_timeout_ms) {
  int flags = SQLITE_OPEN_NOMUTEX;
  switch (mode) {
    case Mode::kReadWriteCreate:
      flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
      break;
    case Mode::kReadWrite:
      flags |= SQLITE_OPEN_READWRITE;
      break;
    case Mode::kReadOnly:
      flags |= SQLITE_OPEN_READONLY;
      break;
  }
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Unexpected{code_for(rc), "cannot open catalog database " + path + ": " + message};
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, busy_timeout_ms);
  return std::unique_ptr<SqliteDb>(new SqliteDb(db, path));
}

SqliteDb::~SqliteDb() {
  sqlite3_close_v2(db_);
}

Error SqliteDb::last_error(std::string_view context) const {
  const int rc = sqlite3_extended_errcode(db_);
  return Error{code_for(rc),
               "catalog database " + path_ + ": " + sqlite3_errmsg(db_) + " (in: " + shorten(context) + ")"};
}

Status SqliteDb::exec(std::string_view sql) {
  const std::string text(sql);
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    Error error{code_for(rc), "catalog database " + path_ + ": " +
                                  (message != nullptr ? message : sqlite3_errstr(rc)) +
                                  " (in: " + shorten(sql) + ")"};
    sqlite3_free(message);
    return error;
  }
  return ok_status();
}

Result<SqliteStmt> SqliteDb::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return last_error(sql);
  return SqliteStmt(this, stmt, std::string(sql));
}

std::int64_t SqliteDb::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}
int SqliteDb::changes() const {
  return sqlite3_changes(db_);
}

SqliteStmt::~SqliteStmt() {
  sqlite3_finalize(stmt_);
}

SqliteStmt::SqliteStmt(SqliteStmt&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), sql_(std::move(other.sql_)) {}

SqliteStmt& SqliteStmt::operator=(SqliteStmt&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = std::exchange(other.stmt_, nullptr);
    sql_ = std::move(other.sql_);
  }
  return *this;
}

SqliteStmt& SqliteStmt::bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}
SqliteStmt& SqliteStmt::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
SqliteStmt& SqliteStmt::bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}
SqliteStmt& SqliteStmt::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}
SqliteStmt& SqliteStmt::bind_blob(int index, std::span<const std::uint8_t> bytes) {
  sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  return *this;
}
SqliteStmt& SqliteStmt::bind(int index, const std::optional<double>& value) {
  return value ? bind(index, *value) : bind_null(index);
}

Result<bool> SqliteStmt::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->last_error(sql_);
}

Status SqliteStmt::run() {
  for (;;) {
    auto more = step();
    if (!more) return more.error();
    if (!*more) return ok_status();
  }
}

void SqliteStmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool SqliteStmt::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}
std::int64_t SqliteStmt::column_int(int column) const {
  return sqlite3_column_int64(stmt_, column);
}
double SqliteStmt::column_double(int column) const {
  return sqlite3_column_double(stmt_, column);
}

std::string SqliteStmt::column_text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): SQLite's text is unsigned char
  const auto* chars = reinterpret_cast<const char*>(text);
  return {chars, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
}

std::optional<double> SqliteStmt::column_optional_double(int column) const {
  if (is_null(column)) return std::nullopt;
  return column_double(column);
}

std::span<const std::uint8_t> SqliteStmt::column_blob(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr || size <= 0) return {};
  return {static_cast<const std::uint8_t*>(data), static_cast<std::size_t>(size)};
}

Result<SqliteTxn> SqliteTxn::begin(SqliteDb& db, std::string_view kind) {
  VISEARCH_TRY(db.exec("BEGIN " + std::string(kind)));
  return SqliteTxn(&db);
}

SqliteTxn::~SqliteTxn() {
  if (db_ != nullptr) static_cast<void>(db_->exec("ROLLBACK"));
}

Status SqliteTxn::commit() {
  if (db_ == nullptr) return Unexpected{ErrorCode::kInternal, "transaction already finished"};
  SqliteDb* db = std::exchange(db_, nullptr);
  auto committed = db->exec("COMMIT");
  if (!committed) static_cast<void>(db->exec("ROLLBACK"));
  return committed;
}

}  // namespace visearch::search
