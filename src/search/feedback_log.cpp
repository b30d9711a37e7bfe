#include "search/feedback_log.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "search/catalog_import.h"
#include "search/text_util.h"

namespace visearch::search {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kFileName = "feedback.jsonl";
constexpr const char* kLockName = "feedback.lock";
constexpr int kMaxObjects = 100;
constexpr int kMaxProducts = 100;
constexpr std::size_t kMaxIdBytes = 256;
constexpr std::size_t kMaxLabelBytes = 128;
constexpr std::size_t kMaxRequestIdBytes = 128;
constexpr std::size_t kMaxBodyBytes = std::size_t{256} << 10U;

Error io_error(const std::string& what) {
  return Error{ErrorCode::kIo, "feedback log: " + what + ": " + std::strerror(errno)};
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string rotated_name(int n) {
  return "feedback." + std::to_string(n) + ".jsonl";
}

// A held flock on the folder's lock file.
class FolderLock {
 public:
  explicit FolderLock(int fd) : fd_(fd) {
    while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~FolderLock() { ::flock(fd_, LOCK_UN); }
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;
  FolderLock(FolderLock&&) = delete;
  FolderLock& operator=(FolderLock&&) = delete;

 private:
  int fd_;
};

Status write_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("write");
    }
    done += static_cast<std::size_t>(n);
  }
  return ok_status();
}

bool valid_request_id(const std::string& id) {
  if (id.empty() || id.size() > kMaxRequestIdBytes) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.' || c == ':';
  });
}

Unexpected bad(const std::string& what) {
  return Unexpected{ErrorCode::kInvalidArgument, what};
}

bool is_int_in(const json& v, int low, int high) {
  if (!v.is_number_integer()) return false;
  const auto n = v.get<std::int64_t>();
  return n >= low && n <= high;
}

bool short_text(const json& v, std::size_t max_bytes, bool allow_empty) {
  if (!v.is_string()) return false;
  const auto& s = v.get_ref<const std::string&>();
  return (allow_empty || !s.empty()) && s.size() <= max_bytes && is_valid_utf8(s);
}

// [x1, y1, x2, y2], finite, x2 > x1, y2 > y1.
std::optional<ImageBox> box_of(const json& v) {
  if (!v.is_array() || v.size() != 4) return std::nullopt;
  double c[4];
  for (std::size_t i = 0; i < 4; ++i) {
    if (!v[i].is_number()) return std::nullopt;
    c[i] = v[i].get<double>();
    if (!std::isfinite(c[i]) || std::fabs(c[i]) > 1e7) return std::nullopt;
  }
  if (!(c[2] > c[0] && c[3] > c[1])) return std::nullopt;
  return ImageBox{static_cast<float>(c[0]), static_cast<float>(c[1]), static_cast<float>(c[2]),
                  static_cast<float>(c[3])};
}

json box_json(const ImageBox& b) {
  return json::array({b.x1, b.y1, b.x2, b.y2});
}

Status only_keys(const json& object, std::initializer_list<const char*> keys, const std::string& where) {
  for (const auto& item : object.items()) {
    if (std::none_of(keys.begin(), keys.end(), [&](const char* k) { return item.key() == k; })) {
      return bad(where + ": unknown field '" + printable_utf8(item.key(), 64) + "'");
    }
  }
  return ok_status();
}

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

// ---- the log ----

Result<std::unique_ptr<FeedbackLog>> FeedbackLog::open(const FeedbackLogOptions& options) {
  if (options.dir.empty()) return Unexpected{ErrorCode::kInvalidArgument, "feedback log: no folder"};
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec)
    return Unexpected{ErrorCode::kIo, "feedback log: cannot create " + options.dir + ": " + ec.message()};
  std::unique_ptr<FeedbackLog> log(new FeedbackLog(options));
  const std::string lock_path = options.dir + "/" + kLockName;
  log->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (log->lock_fd_ < 0) return io_error("open " + lock_path);
  std::lock_guard guard(log->mutex_);
  const FolderLock folder(log->lock_fd_);
  VISEARCH_TRY(log->reopen_if_moved());
  return log;
}

FeedbackLog::~FeedbackLog() {
  if (fd_ >= 0) {
    if (dirty_) ::fdatasync(fd_);
    ::close(fd_);
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::string FeedbackLog::current_path() const {
  return options_.dir + "/" + kFileName;
}

Status FeedbackLog::reopen_if_moved() {
  const std::string path = current_path();
  struct stat on_disk {};
  struct stat held {};
  if (fd_ >= 0 && ::stat(path.c_str(), &on_disk) == 0 && ::fstat(fd_, &held) == 0 &&
      on_disk.st_ino == held.st_ino && on_disk.st_dev == held.st_dev) {
    return ok_status();
  }
  if (fd_ >= 0) {
    if (dirty_) ::fdatasync(fd_);
    ::close(fd_);
    fd_ = -1;
    dirty_ = false;
  }
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) return io_error("open " + path);
  // A torn last line (a machine crash) must not swallow the next event: start on a new line.
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && st.st_size > 0) {
    const int reader = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    char last = '\n';
    if (reader >= 0) {
      if (::pread(reader, &last, 1, st.st_size - 1) != 1) last = '\n';
      ::close(reader);
    }
    if (last != '\n') VISEARCH_TRY(write_all(fd_, "\n"));
  }
  return ok_status();
}

Status FeedbackLog::rotate() {
  if (::fdatasync(fd_) != 0) return io_error("fdatasync");
  const std::string dir = options_.dir + "/";
  std::error_code ec;
  if (options_.keep_rotated <= 0) {
    fs::remove(current_path(), ec);
  } else {
    fs::remove(dir + rotated_name(options_.keep_rotated), ec);
    for (int n = options_.keep_rotated - 1; n >= 1; --n) {
      if (fs::exists(dir + rotated_name(n), ec))
        fs::rename(dir + rotated_name(n), dir + rotated_name(n + 1), ec);
    }
    fs::rename(current_path(), dir + rotated_name(1), ec);
    if (ec) return Unexpected{ErrorCode::kIo, "feedback log: rotation: " + ec.message()};
  }
  const int dir_fd = ::open(options_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  ::close(fd_);
  fd_ = -1;
  dirty_ = false;
  return reopen_if_moved();
}

Status FeedbackLog::append(json event) {
  json line = {{"v", 1}, {"time", utc_now()}};
  for (auto& item : event.items()) line[item.key()] = std::move(item.value());
  std::string text = line.dump(-1, ' ', false, json::error_handler_t::replace);
  text.push_back('\n');
  std::lock_guard guard(mutex_);
  const FolderLock folder(lock_fd_);
  VISEARCH_TRY(reopen_if_moved());
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return io_error("fstat");
  if (st.st_size > 0 && static_cast<std::uint64_t>(st.st_size) + text.size() > options_.max_file_bytes) {
    VISEARCH_TRY(rotate());
  }
  VISEARCH_TRY(write_all(fd_, text));
  dirty_ = true;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_sync_ >= options_.sync_interval) {
    if (::fdatasync(fd_) != 0) return io_error("fdatasync");
    last_sync_ = now;
    dirty_ = false;
  }
  return ok_status();
}

// ---- events ----

std::string encode_embedding(const std::vector<float>& values) {
  std::string bytes(values.size() * 4, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &values[i], 4);
    for (std::size_t b = 0; b < 4; ++b) bytes[i * 4 + b] = static_cast<char>((bits >> (8 * b)) & 0xFFU);
  }
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16U;
    if (i + 1 < bytes.size()) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8U;
    if (i + 2 < bytes.size()) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    out.push_back(kBase64[(n >> 18U) & 63U]);
    out.push_back(kBase64[(n >> 12U) & 63U]);
    out.push_back(i + 1 < bytes.size() ? kBase64[(n >> 6U) & 63U] : '=');
    out.push_back(i + 2 < bytes.size() ? kBase64[n & 63U] : '=');
  }
  return out;
}

Result<std::vector<float>> decode_embedding(std::string_view text, std::size_t max_values) {
  if (text.size() > (max_values * 4 + 2) / 3 * 4 + 4) return bad("embedding: too many values");
  auto bytes = decode_base64_text(text);
  if (!bytes) return bad("embedding: not base64");
  if (bytes->size() % 4 != 0 || bytes->empty() || bytes->size() / 4 > max_values)
    return bad("embedding: not a list of float32 values");
  std::vector<float> values(bytes->size() / 4);
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::uint32_t bits = 0;
    for (std::size_t b = 0; b < 4; ++b)
      bits |= static_cast<std::uint32_t>(static_cast<unsigned char>((*bytes)[i * 4 + b])) << (8 * b);
    std::memcpy(&values[i], &bits, 4);
    if (!std::isfinite(values[i])) return bad("embedding: a value is not finite");
  }
  return values;
}

json feedback_search_event(const std::string& request_id, const std::vector<QueryObject>& objects,
                           const SearchOptions& options) {
  json filters = {{"category", options.filters.category}, {"attributes", options.filters.attributes}};
  filters["min_price"] = options.filters.min_price ? json(*options.filters.min_price) : json(nullptr);
  filters["max_price"] = options.filters.max_price ? json(*options.filters.max_price) : json(nullptr);
  json list = json::array();
  for (const QueryObject& o : objects) {
    json object = {{"label", o.label},
                   {"score", o.score},
                   {"box", box_json(o.box)},
                   {"whole_image", o.whole_image},
                   {"embedding", encode_embedding(o.embedding)}};
    if (has_colour(o.colour)) object["colour"] = o.colour;  // 11 shares: what the object looks like, not who
    list.push_back(std::move(object));
  }
  json event = {{"event", "search"},
                {"request_id", request_id},
                {"ranking", std::string(ranking_name(options.ranking))},
                {"limit", options.limit},
                {"q", options.query_text},
                {"filters", std::move(filters)},
                {"objects", std::move(list)}};
  if (options.min_score) event["min_score"] = *options.min_score;
  return event;
}

Result<json> parse_feedback_body(std::string_view body) {
  if (body.size() > kMaxBodyBytes)
    return Unexpected{ErrorCode::kPayloadTooLarge, "a feedback body is at most 256 KiB"};
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return bad("the body must be a JSON object");
  VISEARCH_TRY(only_keys(doc, {"event", "request_id", "objects", "object", "product", "rank"}, "body"));
  if (!doc.contains("request_id") || !doc["request_id"].is_string() ||
      !valid_request_id(doc["request_id"].get<std::string>())) {
    return bad("request_id must be the search's request id (1-128 of A-Z a-z 0-9 - _ . :)");
  }
  if (!doc.contains("event") || !doc["event"].is_string()) return bad("event must be \"shown\" or \"open\"");
  const std::string event = doc["event"].get<std::string>();
  json out = {{"event", event}, {"request_id", doc["request_id"]}};
  if (event == "shown") {
    VISEARCH_TRY(only_keys(doc, {"event", "request_id", "objects"}, "shown"));
    if (!doc.contains("objects") || !doc["objects"].is_array() || doc["objects"].empty() ||
        doc["objects"].size() > static_cast<std::size_t>(kMaxObjects)) {
      return bad("objects must be an array of 1.." + std::to_string(kMaxObjects) + " objects");
    }
    json objects = json::array();
    std::set<int> seen;
    for (std::size_t i = 0; i < doc["objects"].size(); ++i) {
      const json& o = doc["objects"][i];
      const std::string where = "objects[" + std::to_string(i) + "]";
      if (!o.is_object()) return bad(where + " must be an object");
      VISEARCH_TRY(only_keys(o, {"object", "label", "box", "products"}, where));
      if (!o.contains("object") || !is_int_in(o["object"], 0, kMaxObjects - 1))
        return bad(where + ".object must be an integer in 0.." + std::to_string(kMaxObjects - 1));
      const int index = o["object"].get<int>();
      if (!seen.insert(index).second) return bad(where + ".object repeats object " + std::to_string(index));
      json entry = {{"object", index}};
      if (o.contains("label")) {
        if (!short_text(o["label"], kMaxLabelBytes, true))
          return bad(where + ".label must be a string of at most 128 bytes");
        entry["label"] = o["label"];
      }
      if (o.contains("box")) {
        auto box = box_of(o["box"]);
        if (!box) return bad(where + ".box must be [x1, y1, x2, y2] with x2 > x1 and y2 > y1");
        entry["box"] = box_json(*box);
      }
      if (!o.contains("products") || !o["products"].is_array() ||
          o["products"].size() > static_cast<std::size_t>(kMaxProducts)) {
        return bad(where + ".products must be an array of at most " + std::to_string(kMaxProducts) + " ids");
      }
      for (const json& id : o["products"]) {
        if (!short_text(id, kMaxIdBytes, false))
          return bad(where + ".products must hold product ids (non-empty strings of at most 256 bytes)");
      }
      entry["products"] = o["products"];
      objects.push_back(std::move(entry));
    }
    out["objects"] = std::move(objects);
  } else if (event == "open") {
    VISEARCH_TRY(only_keys(doc, {"event", "request_id", "object", "product", "rank"}, "open"));
    if (!doc.contains("object") || !is_int_in(doc["object"], 0, kMaxObjects - 1))
      return bad("object must be an integer in 0.." + std::to_string(kMaxObjects - 1));
    if (!doc.contains("product") || !short_text(doc["product"], kMaxIdBytes, false))
      return bad("product must be a product id (a non-empty string of at most 256 bytes)");
    out["object"] = doc["object"];
    out["product"] = doc["product"];
    if (doc.contains("rank")) {
      if (!is_int_in(doc["rank"], 1, kMaxProducts))
        return bad("rank must be an integer in 1.." + std::to_string(kMaxProducts));
      out["rank"] = doc["rank"];
    }
  } else {
    return bad("event must be \"shown\" or \"open\"");
  }
  return out;
}

// ---- reading ----

void FeedbackReader::add(std::string_view text) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    ++stats_.lines;
    if (line.size() > limits_.max_line_bytes || events_ >= limits_.max_events) {
      ++stats_.bad_lines;
      continue;
    }
    add_line(line);
  }
}

void FeedbackReader::add_line(std::string_view line) {
  const json doc = json::parse(line, nullptr, false);
  const auto bad_line = [&] { ++stats_.bad_lines; };
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("v") || !is_int_in(doc["v"], 1, 1) ||
      !doc.contains("event") || !doc["event"].is_string() || !doc.contains("request_id") ||
      !doc["request_id"].is_string() || !valid_request_id(doc["request_id"].get<std::string>())) {
    return bad_line();
  }
  const std::string event = doc["event"].get<std::string>();
  const std::string request_id = doc["request_id"].get<std::string>();
  if (event == "search") {
    SearchOptions options;
    auto ranking = doc.contains("ranking") && doc["ranking"].is_string()
                       ? parse_ranking(doc["ranking"].get<std::string>())
                       : Result<Ranking>(Unexpected{ErrorCode::kInvalidArgument, ""});
    if (!ranking || !doc.contains("limit") || !is_int_in(doc["limit"], 1, 100)) return bad_line();
    options.ranking = *ranking;
    options.limit = doc["limit"].get<int>();
    if (doc.contains("q")) {
      if (!short_text(doc["q"], 4096, true)) return bad_line();
      options.query_text = doc["q"].get<std::string>();
    }
    if (doc.contains("min_score")) {
      if (!doc["min_score"].is_number()) return bad_line();
      const double m = doc["min_score"].get<double>();
      if (!(m >= 0.0 && m <= 1.0)) return bad_line();
      options.min_score = m;
    }
    if (doc.contains("filters")) {
      const json& f = doc["filters"];
      if (!f.is_object()) return bad_line();
      if (f.contains("category")) {
        if (!short_text(f["category"], 1024, true)) return bad_line();
        options.filters.category = f["category"].get<std::string>();
      }
      for (const char* key : {"min_price", "max_price"}) {
        if (!f.contains(key) || f[key].is_null()) continue;
        if (!f[key].is_number() || !std::isfinite(f[key].get<double>())) return bad_line();
        (std::string(key) == "min_price" ? options.filters.min_price : options.filters.max_price) =
            f[key].get<double>();
      }
      if (f.contains("attributes")) {
        if (!f["attributes"].is_object() || f["attributes"].size() > 64) return bad_line();
        for (const auto& [name, value] : f["attributes"].items()) {
          if (!short_text(value, 1024, true) || name.size() > 256) return bad_line();
          options.filters.attributes[name] = value.get<std::string>();
        }
      }
    }
    if (!doc.contains("objects") || !doc["objects"].is_array() ||
        doc["objects"].size() > static_cast<std::size_t>(kMaxObjects)) {
      return bad_line();
    }
    std::vector<QueryObject> objects;
    for (const json& o : doc["objects"]) {
      if (!o.is_object() || !o.contains("label") || !short_text(o["label"], kMaxLabelBytes, true) ||
          !o.contains("box") || !o.contains("embedding") || !o["embedding"].is_string()) {
        return bad_line();
      }
      QueryObject q;
      q.label = o["label"].get<std::string>();
      auto box = box_of(o["box"]);
      if (!box) return bad_line();
      q.box = *box;
      if (o.contains("score")) {
        if (!o["score"].is_number()) return bad_line();
        q.score = static_cast<float>(std::clamp(o["score"].get<double>(), 0.0, 1.0));
      }
      if (o.contains("whole_image")) {
        if (!o["whole_image"].is_boolean()) return bad_line();
        q.whole_image = o["whole_image"].get<bool>();
      }
      auto embedding = decode_embedding(o["embedding"].get<std::string>());
      if (!embedding) return bad_line();
      q.embedding = std::move(*embedding);
      if (o.contains("colour")) {  // absent in logs written before colours were ranked
        auto colour = colour_from_json(o["colour"]);
        if (!colour) return bad_line();
        q.colour = *colour;
      }
      objects.push_back(std::move(q));
    }
    ++events_;
    Logged& logged = by_request_[request_id];
    if (logged.searched) {
      ++stats_.duplicate_searches;
      return;
    }
    logged.searched = true;
    logged.order = next_order_++;
    logged.objects = std::move(objects);
    logged.options = std::move(options);
    ++stats_.searches;
    return;
  }
  // shown / open: the page's events, checked as the server checked them.
  json body = doc;
  body.erase("v");
  body.erase("time");
  auto parsed = parse_feedback_body(body.dump());
  if (!parsed) return bad_line();
  ++events_;
  Logged& logged = by_request_[request_id];
  logged.shown_or_opened = true;
  if (event == "shown") {
    for (const json& o : (*parsed)["objects"]) {
      const int index = o["object"].get<int>();
      if (logged.shown.count(index) != 0) continue;  // the first list shown counts
      logged.shown[index] = o["products"].get<std::vector<std::string>>();
    }
  } else {
    logged.opened[(*parsed)["object"].get<int>()].insert((*parsed)["product"].get<std::string>());
  }
}

std::vector<FeedbackQuery> FeedbackReader::queries() {
  stats_.shown_objects = stats_.judged = stats_.without_open = stats_.without_search = 0;
  std::vector<std::pair<std::size_t, FeedbackQuery>> out;
  for (const auto& [request_id, logged] : by_request_) {
    if (!logged.searched) {
      if (logged.shown_or_opened) ++stats_.without_search;
      continue;
    }
    for (const auto& [index, shown] : logged.shown) {
      if (index < 0 || static_cast<std::size_t>(index) >= logged.objects.size()) {
        ++stats_.without_search;
        continue;
      }
      ++stats_.shown_objects;
      FeedbackQuery q;
      q.judgment.id = request_id + "#" + std::to_string(index);
      auto opened = logged.opened.find(index);
      if (opened != logged.opened.end()) {
        for (const std::string& id : shown) {
          if (opened->second.count(id) != 0) q.judgment.products[id] = 1;
        }
      }
      if (q.judgment.products.empty()) {
        ++stats_.without_open;
        continue;
      }
      ++stats_.judged;
      q.object = logged.objects[static_cast<std::size_t>(index)];
      q.options = logged.options;
      q.shown = shown;
      out.emplace_back(logged.order * static_cast<std::size_t>(kMaxObjects) + static_cast<std::size_t>(index),
                       std::move(q));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<FeedbackQuery> queries;
  queries.reserve(out.size());
  for (auto& entry : out) queries.push_back(std::move(entry.second));
  return queries;
}

Result<std::vector<std::string>> feedback_log_files(const std::string& file_or_dir) {
  std::error_code ec;
  if (fs::is_regular_file(file_or_dir, ec)) return std::vector<std::string>{file_or_dir};
  if (!fs::is_directory(file_or_dir, ec))
    return Unexpected{ErrorCode::kNotFound, "no feedback log file or folder: " + file_or_dir};
  // Oldest first: feedback.N.jsonl .. feedback.1.jsonl, then feedback.jsonl (order does not change the
  // judgments; it keeps the report's query order stable).
  std::vector<std::pair<long, std::string>> found;
  for (const auto& entry : fs::directory_iterator(file_or_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file(ec) || name.rfind("feedback", 0) != 0 || name.size() < 14 ||
        name.substr(name.size() - 6) != ".jsonl") {
      continue;
    }
    if (name == kFileName) {
      found.emplace_back(-1, entry.path().string());
      continue;
    }
    const std::string middle = name.substr(9, name.size() - 9 - 6);  // feedback.N.jsonl -> N
    if (name[8] != '.' || middle.empty() || middle.size() > 6 ||
        middle.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    found.emplace_back(std::stol(middle), entry.path().string());
  }
  if (found.empty()) return Unexpected{ErrorCode::kNotFound, "no feedback*.jsonl in " + file_or_dir};
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> files;
  for (auto& f : found) files.push_back(std::move(f.second));
  return files;
}

}  // namespace visearch::search
