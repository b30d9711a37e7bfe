// The labelling API of `visearch label` on loopback: listing, saves with versions and conflicts (409),
// malformed payloads refused with nothing written (400), upright (EXIF) images, pre-labels on the real
// default detector, the background job, the web UI files, restarts.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "io/image_decode.h"
#include "label_fixture.h"
#include "support/image_fixtures.h"

namespace visearch::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json body_of(const httplib::Result& res) {
  EXPECT_TRUE(res);
  if (!res) return json();
  return json::parse(res->body, nullptr, false);
}

std::string id_of(httplib::Client& client, const std::string& file) {
  auto res = client.Get("/v1/label/images");
  const json list = body_of(res);
  for (const json& image : list["images"]) {
    if (image["file"] == file) return image["id"];
  }
  ADD_FAILURE() << "no image " << file << " in " << list.dump();
  return "";
}

httplib::Result put_labels(httplib::Client& client, const std::string& id, const std::string& body,
                           const httplib::Headers& headers = {}) {
  return client.Put("/v1/label/images/" + id + "/labels", headers, body, "application/json");
}

// A YOLO data set: data.yaml with 3 classes, three coco128 photos, one of them already labelled.
struct SmallYolo {
  ScratchDir dir;
  SmallYolo() {
    copy_coco128_images(dir.path(), "images/train", {"000000000009", "000000000025", "000000000030"});
    fs::create_directories(dir.path() / "labels" / "train");
    std::ofstream(dir.path() / "labels" / "train" / "000000000030.txt") << "1 0.5 0.5 0.2 0.2\n";
    std::ofstream(dir.path() / "data.yaml") << "path: .\ntrain: images/train\nval: images/train\n"
                                               "names: [bowl, giraffe, vase]\n";
  }
  [[nodiscard]] fs::path label(const std::string& stem) const {
    return dir.path() / "labels" / "train" / (stem + ".txt");
  }
};

TEST(LabelApi, ProjectListAndWebUi) {
  SmallYolo data;
  LabelServer server({data.dir.str()});
  ASSERT_TRUE(server.ready()) << server.log();
  auto client = server.client();
  const json project = body_of(client.Get("/v1/label/project"));
  EXPECT_EQ(project["format"], "yolo");
  EXPECT_EQ(project["classes"], json::parse(R"(["bowl", "giraffe", "vase"])"));
  EXPECT_EQ(project["model"], "picodet_s_416");
  EXPECT_EQ(project["counts"]["images"], 3);
  EXPECT_EQ(project["counts"]["reviewed"], 1);
  EXPECT_EQ(project["counts"]["unlabelled"], 2);
  EXPECT_EQ(project["job"]["state"], "idle");
  EXPECT_EQ(project["mapping"]["pairs"].size(), 3U);  // bowl, giraffe, vase match by name

  const json unlabelled = body_of(client.Get("/v1/label/images?status=unlabelled"));
  EXPECT_EQ(unlabelled["total"], 2);
  EXPECT_EQ(unlabelled["images"][0]["file"], "images/train/000000000009.jpg");
  EXPECT_EQ(unlabelled["images"][0]["status"], "unlabelled");
  auto bad_status = client.Get("/v1/label/images?status=done");
  ASSERT_TRUE(bad_status);
  EXPECT_EQ(bad_status->status, 400);

  const std::string id = id_of(client, "images/train/000000000030.jpg");
  auto detail = client.Get("/v1/label/images/" + id);
  ASSERT_TRUE(detail);
  EXPECT_EQ(detail->status, 200);
  EXPECT_EQ(detail->get_header_value("ETag"), "\"1\"");
  const json d = json::parse(detail->body);
  EXPECT_EQ(d["width"], 640);
  EXPECT_EQ(d["label_file"], "labels/train/000000000030.txt");
  ASSERT_EQ(d["labels"].size(), 1U);
  EXPECT_EQ(d["labels"][0]["class"], "giraffe");
  EXPECT_NEAR(d["labels"][0]["x1"].get<double>(), 0.4 * 640, 1e-3);

  auto missing = client.Get("/v1/label/images/0123456789abcdef");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto wrong_method = client.Delete("/v1/label/images/" + id + "/labels");
  ASSERT_TRUE(wrong_method);
  EXPECT_EQ(wrong_method->status, 405);

  auto page = client.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("visearch label"), std::string::npos);
  auto script = client.Get("/label.js");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_NE(script->body.find("labelApp"), std::string::npos);
}

TEST(LabelApi, SaveThenConflictingSaveIsRefusedWith409) {
  SmallYolo data;
  LabelServer server({data.dir.str()});
  ASSERT_TRUE(server.ready()) << server.log();
  auto client = server.client();
  const std::string id = id_of(client, "images/train/000000000009.jpg");
  // Browser A and browser B both opened version 1. A saves first.
  auto a = put_labels(
      client, id, R"({"version": 1, "boxes": [{"class_id": 0, "x1": 0, "y1": 16, "x2": 320, "y2": 256}]})");
  ASSERT_TRUE(a);
  ASSERT_EQ(a->status, 200) << a->body;
  EXPECT_EQ(a->get_header_value("ETag"), "\"2\"");
  const json saved = json::parse(a->body);
  EXPECT_EQ(saved["version"], 2);
  EXPECT_EQ(saved["status"], "reviewed");
  EXPECT_EQ(saved["saved"], true);
  EXPECT_EQ(saved["counts"]["reviewed"], 2);
  EXPECT_EQ(file_text(data.label("000000000009")), "0 0.250000 0.283333 0.500000 0.500000\n");

  // B saves on version 1: refused, nothing written.
  const std::string before = snapshot_tree(data.dir.path());
  auto b = put_labels(client, id,
                      R"({"version": 1, "boxes": [{"class_id": 2, "x1": 5, "y1": 5, "x2": 50, "y2": 50}]})");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->status, 409);
  const json conflict = json::parse(b->body);
  EXPECT_EQ(conflict["error"]["code"], "conflict");
  const std::string message = conflict["error"]["message"];
  EXPECT_NE(message.find("was saved by someone else"), std::string::npos) << message;
  EXPECT_NE(message.find("you started from version 1, it is now version 2"), std::string::npos) << message;
  EXPECT_NE(message.find("Nothing was written"), std::string::npos) << message;
  EXPECT_EQ(conflict["current_version"], 2);
  EXPECT_EQ(conflict["your_version"], 1);
  EXPECT_EQ(conflict["image"]["labels"][0]["class"], "bowl");  // what A saved
  EXPECT_EQ(snapshot_tree(data.dir.path()), before);

  // B reloads (version 2) and saves over it on purpose, with the version in If-Match.
  auto b2 = put_labels(client, id, R"({"boxes": [{"class_id": 2, "x1": 5, "y1": 5, "x2": 50, "y2": 50}]})",
                       {{"If-Match", "\"2\""}});
  ASSERT_TRUE(b2);
  ASSERT_EQ(b2->status, 200) << b2->body;
  EXPECT_EQ(json::parse(b2->body)["version"], 3);
  // A's labels were kept in the history.
  const fs::path history =
      data.dir.path() / ".visearch" / "history" / "images" / "train" / "000000000009.jpg.v2.txt.bak";
  EXPECT_EQ(file_text(history), "0 0.250000 0.283333 0.500000 0.500000\n");
  EXPECT_EQ(json::parse(b2->body)["history_file"], history.string());
}

TEST(LabelApi, MalformedPayloadsAreRefusedAndNothingIsWritten) {
  SmallYolo data;
  LabelServer server({data.dir.str()});
  ASSERT_TRUE(server.ready()) << server.log();
  auto client = server.client();
  const std::string id = id_of(client, "images/train/000000000030.jpg");
  const std::string before = snapshot_tree(data.dir.path());
  const std::string label_before = file_text(data.label("000000000030"));
  struct Case {
    std::string body;
    std::string message;
  };
  const std::vector<Case> cases = {
      {R"({"version": 1, "boxes": [{"class_id": 3, "x1": 1, "y1": 1, "x2": 9, "y2": 9}]})",
       "boxes[0].class_id 3 is out of range: the data set has 3 classes (0..2)"},
      {R"({"version": 1, "boxes": [{"class_id": 0, "x1": 1, "y1": 1, "x2": 9, "y2": 9}, {"class_id": -2, "x1": 1, "y1": 1, "x2": 9, "y2": 9}]})",
       "boxes[1].class_id -2 is out of range"},
      {R"({"version": 1, "boxes": [{"class_id": 0, "x1": 100, "y1": 1, "x2": 90, "y2": 9}]})",
       "boxes[0] has a negative width (x2 90 < x1 100)"},
      {R"({"version": 1, "boxes": [{"class_id": 0, "x1": 1, "y1": 100, "x2": 9, "y2": 50}]})",
       "boxes[0] has a negative height (y2 50 < y1 100)"},
      {R"({"version": 1, "boxes": [{"class_id": 0, "x1": 600, "y1": 10, "x2": 700, "y2": 90}]})",
       "boxes[0].x2 = 700 is outside the image (width 640)"},
      {R"({"version": 1, "boxes": [{"class_id": 0, "x1": 10, "y1": -40, "x2": 70, "y2": 90}]})",
       "boxes[0].y1 = -40 is outside the image (height 428)"},
      {R"({"version": 1, "boxes": [{"class_id": 0, "x1": "12", "y1": 1, "x2": 9, "y2": 9}]})",
       "boxes[0].x1 must be a number, got \"12\""},
      {R"({"version": 1, "boxes": [{"class_id": "bowl", "x1": 1, "y1": 1, "x2": 9, "y2": 9}]})",
       "boxes[0].class_id must be an integer class index (0..2), got \"bowl\""},
      {R"({"version": 1, "boxes": [{"class_id": 0, "x1": 1, "y1": 1, "x2": 9}]})", "boxes[0].y2 is missing"},
      {R"({"boxes": []})", "version is missing"},
      {R"({"version": 1, "boxes": [)", "the request body is not valid JSON"},
  };
  for (const Case& c : cases) {
    auto res = put_labels(client, id, c.body);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << c.body;
    const json error = json::parse(res->body, nullptr, false);
    EXPECT_EQ(error["error"]["code"], "invalid_argument") << res->body;
    const std::string message = error["error"]["message"];
    EXPECT_NE(message.find(c.message), std::string::npos) << "got: " << message << "\nwanted: " << c.message;
  }
  EXPECT_EQ(snapshot_tree(data.dir.path()), before);
  EXPECT_EQ(file_text(data.label("000000000030")), label_before);
  const json detail = body_of(client.Get("/v1/label/images/" + id));
  EXPECT_EQ(detail["version"], 1);
}

// --max-body-mb holds while a save is read, chunked too (issue 11, defect 1): 413, the connection closed,
// memory flat, nothing written. A chunked save within the limit is saved.
TEST(LabelApi, ChunkedSaveOverTheBodyLimitIsRefusedWhileReading) {
  SmallYolo data;
  LabelServer server({data.dir.str(), "--max-body-mb", "1"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto client = server.client();
  const std::string id = id_of(client, "images/train/000000000030.jpg");
  const std::string before = snapshot_tree(data.dir.path());
  const std::vector<std::pair<std::string, std::string>> json_type{{"Content-Type", "application/json"}};
  // Warm-up with a body under the limit (malformed, so refused with 400 and not saved): the first request's
  // own allocations are not what this test measures.
  const RawReply warm = send_chunked(server.port(), "PUT", "/v1/label/images/" + id + "/labels", json_type, 0,
                                     std::string(768U << 10U, 'x'));
  EXPECT_EQ(warm.status, 400) << warm.head << warm.body;
  const std::size_t rss_before = peak_rss_bytes(server.pid());
  ASSERT_GT(rss_before, 0U);
  const RawReply refused =
      send_chunked(server.port(), "PUT", "/v1/label/images/" + id + "/labels", json_type, 160U << 20U);
  EXPECT_EQ(refused.status, 413) << refused.head << refused.body;
  EXPECT_EQ(json::parse(refused.body, nullptr, false)["error"]["code"], "payload_too_large") << refused.body;
  EXPECT_TRUE(refused.closed);
  const std::size_t rss_after = peak_rss_bytes(server.pid());
  // Wide margin (see server_body_limit_test.cpp): only growth of the order of the 160 MB sent fails.
  EXPECT_LT(rss_after, rss_before + (64U << 20U))
      << "peak RSS grew from " << rss_before << " to " << rss_after;
  EXPECT_EQ(snapshot_tree(data.dir.path()), before);

  const RawReply saved =
      send_chunked(server.port(), "PUT", "/v1/label/images/" + id + "/labels", json_type, 0,
                   R"({"version": 1, "boxes": [{"class_id": 2, "x1": 5, "y1": 5, "x2": 50, "y2": 50}]})");
  ASSERT_EQ(saved.status, 200) << saved.head << saved.body;
  EXPECT_EQ(json::parse(saved.body)["version"], 2);
}

TEST(LabelApi, ImagesAreServedUprightAndBoxesStoredInUprightCoordinates) {
  ScratchDir dir;
  // Stored 60x120 with EXIF orientation 6: a viewer shows it as 120x60.
  const auto bytes =
      visearch::test::make_jpeg_with_orientation(visearch::test::make_gradient_image(120, 60), 6);
  std::ofstream(dir.path() / "rotated.jpg", std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));  // NOLINT
  LabelServer server({dir.str(), "--classes", "thing,other"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto client = server.client();
  const std::string id = id_of(client, "rotated.jpg");
  auto image = client.Get("/v1/label/images/" + id + "/image");
  ASSERT_TRUE(image);
  ASSERT_EQ(image->status, 200);
  EXPECT_EQ(image->get_header_value("Content-Type"), "image/jpeg");
  EXPECT_EQ(image->get_header_value("X-Image-Width"), "120");
  const std::vector<std::uint8_t> served(image->body.begin(), image->body.end());
  auto decoded = decode_image(served, DecodeLimits{});
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->exif_orientation, 1);  // re-encoded upright, no tag left to apply twice
  EXPECT_EQ(decoded->image.width, 120);
  EXPECT_EQ(decoded->image.height, 60);
  auto again =
      client.Get("/v1/label/images/" + id + "/image", {{"If-None-Match", image->get_header_value("ETag")}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);

  auto saved = put_labels(
      client, id, R"({"version": 1, "boxes": [{"class_id": 1, "x1": 60, "y1": 0, "x2": 120, "y2": 30}]})");
  ASSERT_TRUE(saved);
  ASSERT_EQ(saved->status, 200) << saved->body;
  EXPECT_EQ(file_text(dir.path() / "rotated.txt"), "1 0.750000 0.250000 0.500000 0.500000\n");
  EXPECT_EQ(file_text(dir.path() / "classes.txt"), "thing\nother\n");
}

TEST(LabelApi, PrelabelOneImageAndAllUnlabelledInTheBackground) {
  SmallYolo data;
  LabelServer server({data.dir.str()});
  ASSERT_TRUE(server.ready()) << server.log();
  auto client = server.client();
  const std::string giraffe = id_of(client, "images/train/000000000025.jpg");
  auto res = client.Post("/v1/label/images/" + giraffe + "/prelabel", "", "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json detail = json::parse(res->body);
  EXPECT_EQ(detail["status"], "pre_labelled");
  EXPECT_EQ(detail["model"], "picodet_s_416");
  ASSERT_FALSE(detail["proposals"].empty());
  EXPECT_EQ(detail["proposals"][0]["class"], "giraffe");
  EXPECT_EQ(detail["proposals"][0]["label"], "giraffe");
  EXPECT_GT(detail["proposals"][0]["score"].get<double>(), 0.5);
  EXPECT_TRUE(detail["labels"].empty());
  // Nothing is written to the labels by a pre-label: only the sidecar.
  EXPECT_FALSE(fs::exists(data.label("000000000025")));

  auto started = client.Post("/v1/label/jobs/prelabel", "", "application/json");
  ASSERT_TRUE(started);
  ASSERT_EQ(started->status, 202) << started->body;
  EXPECT_EQ(json::parse(started->body)["total"], 1);  // only 000000000009 is still unlabelled
  json job;
  for (int i = 0; i < 300; ++i) {
    job = body_of(client.Get("/v1/label/jobs/prelabel"));
    if (job["state"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(job["state"], "done") << job.dump();
  EXPECT_EQ(job["done"], 1);
  const json counts = body_of(client.Get("/v1/label/project"))["counts"];
  EXPECT_EQ(counts["pre_labelled"], 2);
  EXPECT_EQ(counts["unlabelled"], 0);
  const json bowl = body_of(client.Get("/v1/label/images/" + id_of(client, "images/train/000000000009.jpg")));
  EXPECT_EQ(bowl["status"], "pre_labelled");
  EXPECT_FALSE(bowl["proposals"].empty());

  // Accept the proposals as they are: the file holds exactly them.
  json boxes = json::array();
  for (const json& p : detail["proposals"]) {
    if (p["score"].get<double>() < 0.5) continue;
    boxes.push_back(
        {{"class_id", p["class_id"]}, {"x1", p["x1"]}, {"y1", p["y1"]}, {"x2", p["x2"]}, {"y2", p["y2"]}});
  }
  auto saved = put_labels(client, giraffe, json{{"version", detail["version"]}, {"boxes", boxes}}.dump());
  ASSERT_TRUE(saved);
  ASSERT_EQ(saved->status, 200) << saved->body;
  const json stored = json::parse(saved->body);
  ASSERT_EQ(stored["labels"].size(), boxes.size());
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    EXPECT_NEAR(stored["labels"][i]["x1"].get<double>(), boxes[i]["x1"].get<double>(), 0.01);
    EXPECT_NEAR(stored["labels"][i]["y2"].get<double>(), boxes[i]["y2"].get<double>(), 0.01);
  }
  EXPECT_TRUE(stored["proposals"].empty());
  EXPECT_EQ(stored["status"], "reviewed");
}

TEST(LabelApi, VersionsAndStatusSurviveARestart) {
  SmallYolo data;
  std::string id;
  {
    LabelServer server({data.dir.str()});
    ASSERT_TRUE(server.ready()) << server.log();
    auto client = server.client();
    id = id_of(client, "images/train/000000000009.jpg");
    auto saved = put_labels(client, id, R"({"version": 1, "boxes": []})");
    ASSERT_TRUE(saved);
    ASSERT_EQ(saved->status, 200);
    EXPECT_EQ(server.terminate(), 0);
  }
  LabelServer server({data.dir.str()});
  ASSERT_TRUE(server.ready()) << server.log();
  auto client = server.client();
  const json detail = body_of(client.Get("/v1/label/images/" + id));
  EXPECT_EQ(detail["version"], 2);
  EXPECT_EQ(detail["status"], "reviewed");
  auto stale = put_labels(client, id, R"({"version": 1, "boxes": []})");
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 409);
}

TEST(LabelApi, StartUpErrorsAreClear) {
  ScratchDir empty;
  std::ofstream(empty.path() / "a.jpg") << "x";
  {
    LabelServer no_classes({(empty.path() / "missing").string()});
    EXPECT_FALSE(no_classes.ready());
    EXPECT_EQ(no_classes.early_exit(), 1);
    EXPECT_NE(no_classes.log().find("no such folder"), std::string::npos) << no_classes.log();
  }
  {
    ScratchDir dir;
    std::ofstream(dir.path() / "map.json") << R"({"map": {"not a label": "thing"}})";
    LabelServer bad_map({empty.str(), "--classes", "thing", "--map", (dir.path() / "map.json").string()});
    EXPECT_FALSE(bad_map.ready());
    EXPECT_EQ(bad_map.early_exit(), 2);
    EXPECT_NE(bad_map.log().find("map key 'not a label' is not a label of model picodet_s_416"),
              std::string::npos)
        << bad_map.log();
  }
}

}  // namespace
}  // namespace visearch::testing

namespace visearch::testing {
namespace {

json poll_training(httplib::Client& client, const std::function<bool(const json&)>& done, int timeout_s) {
  json last;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < until) {
    last = body_of(client.Get("/v1/label/jobs/train"));
    if (done(last)) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return last;
}

// The Train action (issue 10): a background run on the saved labels, one at a time, stoppable without
// leaving a finished-looking folder; its model then makes the pre-labels.
TEST(LabelApi, TrainInTheBackgroundStopAndPreLabelWithTheNewModel) {
  SmallYolo data;
  for (const char* stem : {"000000000009", "000000000025"}) {
    std::ofstream(data.label(stem)) << "1 0.4 0.5 0.3 0.4\n";
  }
  const fs::path out = data.dir.path() / "trained";
  LabelServer server({data.dir.str(), "--train-out", out.string()});
  ASSERT_TRUE(server.ready()) << server.log();
  auto client = server.client();
  const auto post = [&](const std::string& path, const std::string& body) {
    auto res = client.Post(path, body, "application/json");
    return res ? std::make_pair(res->status, json::parse(res->body, nullptr, false))
               : std::make_pair(0, json());
  };
  // Bad options are refused before anything starts.
  EXPECT_EQ(post("/v1/label/jobs/train", R"({"img_size": 50})").first, 400);
  EXPECT_EQ(post("/v1/label/jobs/train", R"({"epochs": -1})").first, 400);
  EXPECT_EQ(post("/v1/label/jobs/train", R"({"freeze": "everything"})").first, 400);
  EXPECT_EQ(post("/v1/label/jobs/train", "[1]").first, 400);
  // The model to start from: one of the trainable ones the project lists, else a clear 400.
  const json listed = body_of(client.Get("/v1/label/project"));
  const json bases = listed.at("trainable_bases");
  ASSERT_GE(bases.size(), 2U) << listed;
  EXPECT_EQ(bases.at(0), "yolox_nano");
  EXPECT_NE(std::find(bases.begin(), bases.end(), "picodet_s_416"), bases.end()) << bases;
  EXPECT_EQ(std::find(bases.begin(), bases.end(), "nanodet_m_416"), bases.end()) << bases;
  const auto refused = post("/v1/label/jobs/train", R"({"base": "nanodet_m_416"})");
  EXPECT_EQ(refused.first, 400);
  EXPECT_NE(refused.second.dump().find("picodet_s_416"), std::string::npos) << refused.second;
  EXPECT_EQ(post("/v1/label/jobs/train", R"({"base": 7})").first, 400);
  EXPECT_EQ(body_of(client.Get("/v1/label/jobs/train"))["state"], "idle");

  // A long run: a second start is refused; a stop leaves a checkpoint and no finished folder.
  auto [status, started] = post("/v1/label/jobs/train", R"({"epochs": 50, "img_size": 128})");
  ASSERT_EQ(status, 202) << started;
  EXPECT_EQ(started["name"], data.dir.path().filename().string() + "_v1");
  EXPECT_EQ(started["classes"], json::array({"giraffe"}));  // the only class with boxes
  EXPECT_EQ(started["left_out"], json::parse(R"(["bowl", "vase"])"));
  EXPECT_EQ(post("/v1/label/jobs/train", "{}").first, 409);
  poll_training(
      client, [](const json& p) { return p.value("epoch", 0) >= 1; }, 120);
  auto stopping = client.Delete("/v1/label/jobs/train");
  ASSERT_TRUE(stopping);
  const json stopped = poll_training(
      client, [](const json& p) { return p["state"] == "stopped"; }, 120);
  ASSERT_EQ(stopped["state"], "stopped") << stopped;
  const std::string name = started["name"];
  EXPECT_FALSE(fs::exists(out / name)) << "a stopped run left a finished-looking folder";
  EXPECT_TRUE(fs::exists(stopped["partial_dir"].get<std::string>()));

  // A short run finishes with metrics; its model becomes the pre-label model.
  std::tie(status, started) = post("/v1/label/jobs/train", R"({"epochs": 1, "img_size": 128})");
  ASSERT_EQ(status, 202) << started;
  const std::string second = started["name"];
  EXPECT_NE(second, name);  // the stopped run's name stays taken (its checkpoint can be resumed)
  const json finished = poll_training(
      client, [](const json& p) { return p["state"] != "running"; }, 180);
  ASSERT_EQ(finished["state"], "finished") << finished;
  const std::string spec = finished["model"]["spec"];
  EXPECT_TRUE(fs::exists(spec));
  EXPECT_TRUE(finished["metrics"]["trained"].contains("stats"));
  EXPECT_EQ(body_of(client.Get("/v1/label/project"))["training"]["state"], "finished");

  EXPECT_EQ(post("/v1/label/model", R"({"spec": "no_such_model"})").first, 404);
  EXPECT_EQ(body_of(client.Get("/v1/label/project"))["model"], "picodet_s_416");
  const auto [use_status, project] = post("/v1/label/model", json{{"spec", spec}}.dump());
  ASSERT_EQ(use_status, 200) << project;
  EXPECT_EQ(project["model"], second);
  const std::string id = id_of(client, "images/train/000000000009.jpg");
  const auto [prelabel_status, prelabelled] = post("/v1/label/images/" + id + "/prelabel", "");
  ASSERT_EQ(prelabel_status, 200) << prelabelled;
  EXPECT_EQ(prelabelled["model"], second);
  EXPECT_EQ(server.terminate(), 0);
}

}  // namespace
}  // namespace visearch::testing
