// A thin RAII layer over the SQLite C API: one connection (SqliteDb), prepared statements (SqliteStmt) and
// a scoped transaction (SqliteTxn). Every failure becomes a Result error naming the database file and the
// statement; SQLite's own exceptions never exist (it is C), so nothing here throws.
//
// Ownership: SqliteDb owns its sqlite3*; a SqliteStmt borrows its SqliteDb and must not outlive it.
// Thread-safety: a connection (and its statements) is used by one thread at a time; open one connection
// per thread (the library is built thread-safe, connections are opened with SQLITE_OPEN_NOMUTEX).
// Busy handling: every connection waits up to `busy_timeout_ms` for another writer (another thread or
// process) before a write fails with kUnavailable.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace visearch::search {

class SqliteStmt;

class SqliteDb {
 public:
  enum class Mode { kReadWriteCreate, kReadWrite, kReadOnly };

  // Opens (and with kReadWriteCreate creates) the database file. Errors: kNotFound (missing file without
  // create), kIo (cannot open, not a database).
  static Result<std::unique_ptr<SqliteDb>> open(const std::string& path, Mode mode,
                                                int busy_timeout_ms = 10000);

  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;
  SqliteDb(SqliteDb&&) = delete;
  SqliteDb& operator=(SqliteDb&&) = delete;

  // Runs one or more statements without results (DDL, PRAGMA, BEGIN/COMMIT).
  Status exec(std::string_view sql);
  Result<SqliteStmt> prepare(std::string_view sql);

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] sqlite3* handle() const { return db_; }
  [[nodiscard]] std::int64_t last_insert_rowid() const;
  [[nodiscard]] int changes() const;
  // The error for the connection's last failure, with `context` (the statement) in the message.
  [[nodiscard]] Error last_error(std::string_view context) const;

 private:
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

// A prepared statement. bind_* take 1-based parameter indices; column_* 0-based columns.
class SqliteStmt {
 public:
  SqliteStmt(SqliteDb* db, sqlite3_stmt* stmt, std::string sql)
      : db_(db), stmt_(stmt), sql_(std::move(sql)) {}
  ~SqliteStmt();
  SqliteStmt(SqliteStmt&& other) noexcept;
  SqliteStmt& operator=(SqliteStmt&& other) noexcept;
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;

  SqliteStmt& bind(int index, std::string_view text);
  SqliteStmt& bind(int index, std::int64_t value);
  SqliteStmt& bind(int index, double value);
  SqliteStmt& bind_null(int index);
  SqliteStmt& bind_blob(int index, std::span<const std::uint8_t> bytes);
  SqliteStmt& bind(int index, const std::optional<double>& value);

  // true: a row is available; false: done. Errors: kUnavailable (busy/locked), kIo otherwise.
  Result<bool> step();
  // Steps until done (for statements without results).
  Status run();
  // Resets for re-execution with new bindings (bindings are cleared).
  void reset();

  [[nodiscard]] bool is_null(int column) const;
  [[nodiscard]] std::int64_t column_int(int column) const;
  [[nodiscard]] double column_double(int column) const;
  [[nodiscard]] std::string column_text(int column) const;
  [[nodiscard]] std::optional<double> column_optional_double(int column) const;
  [[nodiscard]] std::span<const std::uint8_t> column_blob(int column) const;  // valid until the next step

 private:
  SqliteDb* db_;
  sqlite3_stmt* stmt_;
  std::string sql_;
};

// BEGIN on construction (kind: "DEFERRED", "IMMEDIATE"), ROLLBACK on destruction unless committed.
class SqliteTxn {
 public:
  static Result<SqliteTxn> begin(SqliteDb& db, std::string_view kind);
  ~SqliteTxn();
  SqliteTxn(SqliteTxn&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  SqliteTxn& operator=(SqliteTxn&&) = delete;
  SqliteTxn(const SqliteTxn&) = delete;
  SqliteTxn& operator=(const SqliteTxn&) = delete;
  Status commit();

 private:
  explicit SqliteTxn(SqliteDb* db) : db_(db) {}
  SqliteDb* db_;
};

}  // namespace visearch::search
