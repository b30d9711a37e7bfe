// Shopper feedback as implicit relevance judgments (issue 15): what a search showed and what the shopper
// opened, logged by `visearch serve` (POST /v1/search and POST /v1/search/feedback) and read back by
// `visearch search-eval --feedback`. docs/feedback.md shows how a shop uses it.
//
// The log: JSON lines in FOLDER/feedback.jsonl (the catalog's data folder's feedback/ by default), rotated to
// feedback.1.jsonl .. feedback.N.jsonl when it passes max_file_bytes (the oldest dropped). Three events,
// each with "v": 1, "event", "time" (UTC, seconds) and the search's "request_id":
//   search  written by the server after it answered POST /v1/search: what the ranking needs to be replayed
//           without the photo: "ranking", "limit", "q", "min_score" (when the request gave one),
//           "filters" {category, min_price, max_price, attributes}, and "objects", one per query object:
//           {"label", "score", "box": [x1, y1, x2, y2], "whole_image", "embedding": base64 of the
//           little-endian float32 values}
//   shown   sent by the shopper page after it drew the answer: "objects": [{"object": index, "label",
//           "box", "products": [ids in the order shown]}]
//   open    sent by the page when a product card is opened: "object", "product", "rank" (1-based)
// Nothing about the shopper is written: no address, no user agent, no cookie, no photo.
//
// Durability: each event is one write() of one whole line (O_APPEND), so a crashed process leaves whole
// lines; the file is fdatasync'ed at most every sync_interval and before each rotation, so a crash of the
// machine loses at most that interval and may leave a torn last line. Readers skip every line that is not a
// complete event (counted), and a writer that opens a file not ending in '\n' starts on a new line. Several
// processes may share one folder: appends and rotation hold an flock on FOLDER/feedback.lock.
//
// Reading (FeedbackReader): lines of any number of files, in any order; events are joined by request id.
// A judged query object is one with a search event and a shown event for that object: the products opened
// among those shown are relevant (grade 1), the others shown not relevant. Objects shown with no product
// opened are skipped and counted; so are events whose search was not logged.
//
// Thread-safety: FeedbackLog::append may be called concurrently; FeedbackReader is single-threaded.
// Failure modes: FeedbackLog::open/append -> kIo; parse_feedback_body -> kInvalidArgument naming the field.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "search/object_analysis.h"
#include "search/ranking.h"
#include "search/search_eval.h"

namespace visearch::search {

struct FeedbackLogOptions {
  std::string dir;
  std::uint64_t max_file_bytes = std::uint64_t{32} << 20U;
  int keep_rotated = 7;  // feedback.1.jsonl .. feedback.7.jsonl: at most 8 files in all
  std::chrono::milliseconds sync_interval{1000};
};

class FeedbackLog {
 public:
  // Creates the folder when missing.
  static Result<std::unique_ptr<FeedbackLog>> open(const FeedbackLogOptions& options);
  ~FeedbackLog();
  FeedbackLog(const FeedbackLog&) = delete;
  FeedbackLog& operator=(const FeedbackLog&) = delete;
  FeedbackLog(FeedbackLog&&) = delete;
  FeedbackLog& operator=(FeedbackLog&&) = delete;

  // Writes the event as one line ("v" and "time" added).
  Status append(nlohmann::json event);
  [[nodiscard]] const std::string& dir() const { return options_.dir; }
  [[nodiscard]] std::string current_path() const;

 private:
  explicit FeedbackLog(FeedbackLogOptions options) : options_(std::move(options)) {}
  Status reopen_if_moved();  // mutex_ and the folder lock held
  Status rotate();           // mutex_ and the folder lock held

  FeedbackLogOptions options_;
  std::mutex mutex_;
  int fd_ = -1;
  int lock_fd_ = -1;
  std::chrono::steady_clock::time_point last_sync_{};
  bool dirty_ = false;
};

// The search event of one answered search (the objects with their embeddings).
nlohmann::json feedback_search_event(const std::string& request_id, const std::vector<QueryObject>& objects,
                                     const SearchOptions& options);

// A POST /v1/search/feedback body checked strictly (unknown fields, wrong types, out-of-range values and
// over-long strings are refused): the event to log.
Result<nlohmann::json> parse_feedback_body(std::string_view body);

// float32 values <-> base64 of their little-endian bytes.
std::string encode_embedding(const std::vector<float>& values);
Result<std::vector<float>> decode_embedding(std::string_view text, std::size_t max_values = 16384);

// One judged query object replayed by search-eval.
struct FeedbackQuery {
  Judgment judgment;               // id "REQUEST_ID#OBJECT"; products: the opened ones, grade 1
  QueryObject object;              // label, score, box, embedding as logged
  SearchOptions options;           // ranking, limit, filters, words and min_score as logged
  std::vector<std::string> shown;  // product ids in the order shown
};

struct FeedbackStats {
  std::size_t lines = 0;
  std::size_t bad_lines = 0;           // not a complete event (a torn last line, damage): skipped
  std::size_t searches = 0;            // search events (the first per request id)
  std::size_t duplicate_searches = 0;  // further search events with a request id already seen: ignored
  std::size_t shown_objects = 0;       // objects with a search and a shown event
  std::size_t judged = 0;              // of those, with at least one shown product opened
  std::size_t without_open = 0;        // of those, nothing opened: skipped
  std::size_t without_search = 0;      // shown/open events whose search was not logged: skipped
};

class FeedbackReader {
 public:
  struct Limits {
    std::size_t max_line_bytes = std::size_t{8} << 20U;
    std::size_t max_events = 10'000'000;
  };
  FeedbackReader() = default;
  explicit FeedbackReader(Limits limits) : limits_(limits) {}

  // Reads the lines of one log file (never fails: what is not an event is counted in bad_lines).
  void add(std::string_view text);
  // The judged query objects, in order of their search events; stats() is complete after it.
  std::vector<FeedbackQuery> queries();
  [[nodiscard]] const FeedbackStats& stats() const { return stats_; }

 private:
  struct Logged {
    std::size_t order = 0;
    std::vector<QueryObject> objects;
    SearchOptions options;
    std::map<int, std::vector<std::string>> shown;
    std::map<int, std::set<std::string>> opened;
    bool searched = false;
    bool shown_or_opened = false;
  };
  void add_line(std::string_view line);
  Limits limits_;
  std::map<std::string, Logged> by_request_;
  std::size_t events_ = 0;
  std::size_t next_order_ = 0;
  FeedbackStats stats_;
};

// The log files of a file or folder (feedback*.jsonl, oldest rotation first); kNotFound when none.
Result<std::vector<std::string>> feedback_log_files(const std::string& file_or_dir);

}  // namespace visearch::search
