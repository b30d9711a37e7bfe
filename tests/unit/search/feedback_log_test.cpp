// feedback_log: the shopper feedback log written by the server and read back by `search-eval --feedback`:
// events joined by request id into judgments, torn and damaged lines skipped, a torn tail not swallowing
// the next event, rotation bounding the files, strict checking of the page's bodies.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "search/feedback_log.h"

namespace visearch::search {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string temp_dir(const std::string& name) {
  const std::string dir =
      (fs::temp_directory_path() / ("visearch_feedback_" + name + "_" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

QueryObject object(const std::string& label, std::vector<float> embedding) {
  QueryObject o;
  o.label = label;
  o.score = 0.75F;
  o.box = ImageBox{10.F, 20.F, 110.F, 220.5F};
  o.embedding = std::move(embedding);
  return o;
}

json shown(const std::string& request_id, int index, const std::vector<std::string>& products) {
  return json{{"event", "shown"},
              {"request_id", request_id},
              {"objects", json::array({{{"object", index}, {"label", "cup"}, {"products", products}}})}};
}

json opened(const std::string& request_id, int index, const std::string& product) {
  return json{{"event", "open"}, {"request_id", request_id}, {"object", index}, {"product", product}};
}

std::vector<FeedbackQuery> read_dir(const std::string& dir, FeedbackStats* stats = nullptr) {
  auto files = feedback_log_files(dir);
  EXPECT_TRUE(files) << files.error().message;
  FeedbackReader reader;
  if (files) {
    for (const std::string& f : *files) reader.add(read_text(f));
  }
  auto queries = reader.queries();
  if (stats != nullptr) *stats = reader.stats();
  return queries;
}

TEST(FeedbackLogTest, EmbeddingsRoundTripExactly) {
  const std::vector<float> values{0.F, -1.5F, 3.14159265F, 1e-30F, 7.F};
  auto back = decode_embedding(encode_embedding(values));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, values);
  EXPECT_FALSE(decode_embedding("not base64!"));
  EXPECT_FALSE(decode_embedding("AAA="));  // 2 bytes: not whole float32 values
}

TEST(FeedbackLogTest, SearchShownAndOpenBecomeAJudgment) {
  const std::string dir = temp_dir("join");
  {
    auto log = FeedbackLog::open({dir});
    ASSERT_TRUE(log) << log.error().message;
    SearchOptions options;
    options.limit = 7;
    options.ranking = Ranking::kVisual;
    options.query_text = "red";
    options.min_score = 0.25;
    options.filters.category = "Mugs";
    options.filters.max_price = 20.0;
    options.filters.attributes["colour"] = "red";
    const std::vector<QueryObject> objects{object("cup", {0.5F, 0.25F, -0.125F}),
                                           object("bowl", {1.F, 0.F, 0.F})};
    ASSERT_TRUE((*log)->append(feedback_search_event("req-1", objects, options)));
    ASSERT_TRUE((*log)->append(shown("req-1", 0, {"p3", "p1", "p2"})));
    ASSERT_TRUE((*log)->append(shown("req-1", 1, {"p9"})));  // shown, never opened: skipped
    ASSERT_TRUE((*log)->append(opened("req-1", 0, "p1")));
    ASSERT_TRUE((*log)->append(opened("req-1", 0, "p2")));
    ASSERT_TRUE((*log)->append(opened("req-1", 0, "p7")));     // not among those shown: ignored
    ASSERT_TRUE((*log)->append(opened("req-none", 0, "p1")));  // its search was not logged
  }
  const std::string text = read_text(dir + "/feedback.jsonl");
  EXPECT_EQ(text.find("\"photo\""), std::string::npos);
  for (const char* key : {"\"v\":1", "\"time\":", "\"request_id\":\"req-1\""})
    EXPECT_NE(text.find(key), std::string::npos) << key;

  FeedbackStats stats;
  const auto queries = read_dir(dir, &stats);
  ASSERT_EQ(queries.size(), 1U);
  const FeedbackQuery& q = queries[0];
  EXPECT_EQ(q.judgment.id, "req-1#0");
  EXPECT_EQ(q.judgment.products, (std::map<std::string, int>{{"p1", 1}, {"p2", 1}}));
  EXPECT_EQ(q.shown, (std::vector<std::string>{"p3", "p1", "p2"}));
  EXPECT_EQ(q.object.label, "cup");
  EXPECT_EQ(q.object.embedding, (std::vector<float>{0.5F, 0.25F, -0.125F}));
  EXPECT_FLOAT_EQ(q.object.box.y2, 220.5F);
  EXPECT_EQ(q.options.ranking, Ranking::kVisual);
  EXPECT_EQ(q.options.limit, 7);
  EXPECT_EQ(q.options.query_text, "red");
  ASSERT_TRUE(q.options.min_score);
  EXPECT_DOUBLE_EQ(*q.options.min_score, 0.25);
  EXPECT_EQ(q.options.filters.category, "Mugs");
  EXPECT_EQ(q.options.filters.max_price, 20.0);
  EXPECT_FALSE(q.options.filters.min_price);
  EXPECT_EQ(q.options.filters.attributes.at("colour"), "red");
  EXPECT_EQ(stats.searches, 1U);
  EXPECT_EQ(stats.shown_objects, 2U);
  EXPECT_EQ(stats.judged, 1U);
  EXPECT_EQ(stats.without_open, 1U);
  EXPECT_EQ(stats.without_search, 1U);
  EXPECT_EQ(stats.bad_lines, 0U);
  fs::remove_all(dir);
}

TEST(FeedbackLogTest, TheQueryObjectsColourIsKeptAndLogsWithoutItStillRead) {
  const std::string dir = temp_dir("colour");
  {
    auto log = FeedbackLog::open({dir});
    ASSERT_TRUE(log) << log.error().message;
    QueryObject blue = object("cup", {1.F, 0.F});
    blue.colour[7] = 0.75F;
    blue.colour[1] = 0.25F;
    const QueryObject unknown = object("cup", {0.F, 1.F});
    ASSERT_TRUE((*log)->append(feedback_search_event("req-1", {blue, unknown}, SearchOptions{})));
    ASSERT_TRUE((*log)->append(shown("req-1", 0, {"p1"})));
    ASSERT_TRUE((*log)->append(shown("req-1", 1, {"p2"})));
    ASSERT_TRUE((*log)->append(opened("req-1", 0, "p1")));
    ASSERT_TRUE((*log)->append(opened("req-1", 1, "p2")));
    // A wrong colour list makes the line bad (counted), like any other damaged field.
    json bad = feedback_search_event("req-2", {blue}, SearchOptions{});
    bad["objects"][0]["colour"] = json::array({0.5, 0.5});
    ASSERT_TRUE((*log)->append(bad));
  }
  FeedbackStats stats;
  const auto queries = read_dir(dir, &stats);
  ASSERT_EQ(queries.size(), 2U);
  EXPECT_FLOAT_EQ(queries[0].object.colour[7], 0.75F);
  EXPECT_FLOAT_EQ(queries[0].object.colour[1], 0.25F);
  EXPECT_FALSE(has_colour(queries[1].object.colour));
  EXPECT_EQ(stats.bad_lines, 1U);
  fs::remove_all(dir);
}

TEST(FeedbackLogTest, TornLastLineIsSkippedAndTheNextEventStartsANewLine) {
  const std::string dir = temp_dir("torn");
  {
    auto log = FeedbackLog::open({dir});
    ASSERT_TRUE(log);
    ASSERT_TRUE((*log)->append(feedback_search_event("r1", {object("cup", {1.F, 2.F})}, SearchOptions{})));
    ASSERT_TRUE((*log)->append(shown("r1", 0, {"a", "b"})));
    ASSERT_TRUE((*log)->append(opened("r1", 0, "b")));
  }
  // A machine crash in the middle of the next event: half a line, no newline.
  const std::string path = dir + "/feedback.jsonl";
  const std::string whole =
      json{{"v", 1}, {"event", "open"}, {"request_id", "r1"}, {"object", 0}, {"product", "a"}}.dump();
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << whole.substr(0, whole.size() / 2);
  }
  FeedbackStats stats;
  auto queries = read_dir(dir, &stats);
  ASSERT_EQ(queries.size(), 1U);
  EXPECT_EQ(queries[0].judgment.products, (std::map<std::string, int>{{"b", 1}}));
  EXPECT_EQ(stats.bad_lines, 1U);

  // The server restarts and logs again: the torn line stays alone, the new event is whole.
  {
    auto log = FeedbackLog::open({dir});
    ASSERT_TRUE(log);
    ASSERT_TRUE((*log)->append(opened("r1", 0, "a")));
  }
  queries = read_dir(dir, &stats);
  ASSERT_EQ(queries.size(), 1U);
  EXPECT_EQ(queries[0].judgment.products, (std::map<std::string, int>{{"a", 1}, {"b", 1}}));
  EXPECT_EQ(stats.bad_lines, 1U);
  fs::remove_all(dir);
}

TEST(FeedbackLogTest, RotationBoundsTheFilesAndReadersJoinAcrossThem) {
  const std::string dir = temp_dir("rotate");
  FeedbackLogOptions options;
  options.dir = dir;
  options.max_file_bytes = 600;
  options.keep_rotated = 2;
  {
    auto log = FeedbackLog::open(options);
    ASSERT_TRUE(log);
    for (int i = 0; i < 20; ++i) {
      const std::string id = "r" + std::to_string(i);
      ASSERT_TRUE((*log)->append(feedback_search_event(id, {object("cup", {1.F, 0.F})}, SearchOptions{})));
      ASSERT_TRUE((*log)->append(shown(id, 0, {"a", "b"})));
      ASSERT_TRUE((*log)->append(opened(id, 0, "a")));
    }
  }
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"feedback.jsonl", "feedback.1.jsonl", "feedback.2.jsonl",
                                          "feedback.lock"}));
  for (const char* name : {"feedback.jsonl", "feedback.1.jsonl", "feedback.2.jsonl"})
    EXPECT_LE(fs::file_size(dir + "/" + name), 600U) << name;
  auto files = feedback_log_files(dir);
  ASSERT_TRUE(files);
  ASSERT_EQ(files->size(), 3U);
  EXPECT_EQ(fs::path((*files)[0]).filename(), "feedback.2.jsonl");  // oldest first
  EXPECT_EQ(fs::path((*files)[2]).filename(), "feedback.jsonl");
  // The newest searches are whole: the last one judged.
  FeedbackStats stats;
  const auto queries = read_dir(dir, &stats);
  ASSERT_FALSE(queries.empty());
  EXPECT_EQ(queries.back().judgment.id, "r19#0");
  EXPECT_EQ(stats.bad_lines, 0U);
  EXPECT_FALSE(feedback_log_files(dir + "/missing"));
  fs::remove_all(dir);
}

TEST(FeedbackLogTest, ConcurrentWritersSharingAFolderKeepEveryLineWholeAcrossRotations) {
  // Two logs on one folder stand for two server processes (each has its own flock on feedback.lock); two
  // threads each. Rotation every few events: no line is lost, torn or interleaved.
  const std::string dir = temp_dir("concurrent");
  FeedbackLogOptions options;
  options.dir = dir;
  options.max_file_bytes = 2000;
  options.keep_rotated = 1000;
  options.sync_interval = std::chrono::milliseconds(0);
  auto first = FeedbackLog::open(options);
  auto second = FeedbackLog::open(options);
  ASSERT_TRUE(first && second);
  constexpr int kPerThread = 150;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    FeedbackLog& log = t % 2 == 0 ? **first : **second;
    threads.emplace_back([&log, &failures, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!log.append(
                feedback_search_event(id, {object("cup", std::vector<float>(16, 0.5F))}, SearchOptions{})))
          ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  FeedbackStats stats;
  static_cast<void>(read_dir(dir, &stats));
  EXPECT_EQ(stats.lines, 4U * kPerThread);
  EXPECT_EQ(stats.bad_lines, 0U);
  EXPECT_EQ(stats.searches, 4U * kPerThread);
  EXPECT_EQ(stats.duplicate_searches, 0U);
  auto files = feedback_log_files(dir);
  ASSERT_TRUE(files);
  EXPECT_GT(files->size(), 10U);
  for (const std::string& f : *files) EXPECT_LE(fs::file_size(f), 2000U) << f;
  fs::remove_all(dir);
}

TEST(FeedbackLogTest, PageBodiesAreCheckedStrictly) {
  auto good = parse_feedback_body(
      R"({"event": "shown", "request_id": "abc-1", "objects": [{"object": 0, "label": "cup",)"
      R"( "box": [1, 2, 30, 40], "products": ["p1", "p2"]}]})");
  ASSERT_TRUE(good) << good.error().message;
  EXPECT_EQ((*good)["objects"][0]["products"].size(), 2U);
  auto open = parse_feedback_body(
      R"({"event": "open", "request_id": "abc-1", "object": 2, "product": "p", "rank": 3})");
  ASSERT_TRUE(open) << open.error().message;
  EXPECT_EQ((*open)["rank"], 3);

  const std::vector<std::pair<std::string, std::string>> bad{
      {"", "JSON object"},
      {"[1]", "JSON object"},
      {R"({"event": "open", "object": 0, "product": "p"})", "request_id"},
      {R"({"event": "open", "request_id": "a b", "object": 0, "product": "p"})", "request_id"},
      {R"({"event": "open", "request_id": ")" + std::string(129, 'a') + R"(", "object": 0, "product": "p"})",
       "request_id"},
      {R"({"event": "click", "request_id": "a", "object": 0, "product": "p"})", "event"},
      {R"({"event": "open", "request_id": "a", "object": -1, "product": "p"})", "object"},
      {R"({"event": "open", "request_id": "a", "object": 0.5, "product": "p"})", "object"},
      {R"({"event": "open", "request_id": "a", "object": 0, "product": ""})", "product"},
      {R"({"event": "open", "request_id": "a", "object": 0, "product": 7})", "product"},
      {R"({"event": "open", "request_id": "a", "object": 0, "product": "p", "rank": 0})", "rank"},
      {R"({"event": "open", "request_id": "a", "object": 0, "product": "p", "ip": "1.2.3.4"})",
       "unknown field"},
      {R"({"event": "shown", "request_id": "a", "objects": []})", "objects"},
      {R"({"event": "shown", "request_id": "a", "objects": [{"object": 0}]})", "products"},
      {R"({"event": "shown", "request_id": "a", "objects": [{"object": 0, "products": [1]}]})", "products"},
      {R"({"event": "shown", "request_id": "a", "objects": [{"object": 0, "products": [], "box": [5, 5, 1, 1]}]})",
       "box"},
      {R"({"event": "shown", "request_id": "a", "objects": [{"object": 0, "products": []},)"
       R"( {"object": 0, "products": []}]})",
       "repeats"},
      {R"({"event": "shown", "request_id": "a", "objects": [{"object": 0, "products": [], "photo": "x"}]})",
       "unknown field"},
      {R"({"event": "shown", "request_id": "a", "object": 0, "objects": [{"object": 0, "products": []}]})",
       "unknown field"},
  };
  for (const auto& [body, expected] : bad) {
    auto parsed = parse_feedback_body(body);
    ASSERT_FALSE(parsed) << body;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument) << body;
    EXPECT_NE(parsed.error().message.find(expected), std::string::npos)
        << body << " -> " << parsed.error().message;
  }
  EXPECT_EQ(parse_feedback_body(std::string(300 * 1024, ' ')).error().code, ErrorCode::kPayloadTooLarge);
}

TEST(FeedbackLogTest, DamagedLinesAreCountedNeverFatal) {
  FeedbackReader reader;
  reader.add(
      "not json\n{\"v\": 2, \"event\": \"open\"}\n{\"v\":1,\"event\":\"search\",\"request_id\":\"x\"}\n"
      "\n{\"v\":1,\"event\":\"search\",\"request_id\":\"y\",\"ranking\":\"fused\",\"limit\":5,"
      "\"objects\":[{\"label\":\"\",\"box\":[0,0,1,1],\"embedding\":\"!!\"}]}\n");
  EXPECT_TRUE(reader.queries().empty());
  EXPECT_EQ(reader.stats().lines, 4U);
  EXPECT_EQ(reader.stats().bad_lines, 4U);
}

}  // namespace
}  // namespace visearch::search
