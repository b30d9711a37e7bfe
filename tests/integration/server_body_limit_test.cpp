// --max-body-mb holds while a body is read, whatever its coding (issue 11, defect 1): a chunked body, or a
// compressed one, over the limit is refused with 413 after at most the limit is buffered, the connection is
// closed (the rest of the body is never parsed as a next request), and the server's memory stays flat.
// Bodies under the limit, chunked or compressed, still work.
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>

#include "server_fixture.h"

namespace visearch::testing {
namespace {

using nlohmann::json;

constexpr std::size_t kMiB = 1U << 20U;
constexpr std::size_t kOversized = 160 * kMiB;  // with --max-body-mb 1
// Peak memory may grow by the 1 MB body, its copies and a few buffers, never by the 160 MB sent. The margin
// is wide: on CI machines the peak of a fresh server grew by about 17 MB over this test even when every
// body was refused at 1 MB (never here, with the same binary), so only growth of the order of the bodies
// themselves is taken as a failure.
constexpr std::size_t kGrowthAllowed = 64 * kMiB;

std::string gzip(const std::string& bytes) {
  z_stream stream{};
  EXPECT_EQ(deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&stream, bytes.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));  // NOLINT: zlib's API
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());  // NOLINT
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

void expect_refused(const RawReply& reply, int status, const std::string& code) {
  EXPECT_EQ(reply.status, status) << reply.head << reply.body;
  const json body = json::parse(reply.body, nullptr, false);
  ASSERT_FALSE(body.is_discarded()) << reply.body;
  EXPECT_EQ(body["error"]["code"], code) << reply.body;
  // The rest of the body must never be read as the next request on this connection.
  EXPECT_TRUE(reply.closed) << "connection kept open after refusing a partly read body";
}

class BodyLimitTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    key_file_ = "/tmp/visearch_body_limit_key_" + std::to_string(::getpid());
    std::ofstream(key_file_) << "body-limit-key-0123456789\n";
    server_ = new ServerProcess({"--models", "fastestdet", "--max-body-mb", "1", "--api-key-file", key_file_,
                                 "--public-search", "--workers", "1", "--http-threads", "2"});
    ASSERT_TRUE(server_->ready()) << server_->log();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    std::remove(key_file_.c_str());
  }
  static ServerProcess* server_;
  static std::string key_file_;
  const std::vector<std::pair<std::string, std::string>> key_{{"X-API-Key", "body-limit-key-0123456789"}};
};
ServerProcess* BodyLimitTest::server_ = nullptr;
std::string BodyLimitTest::key_file_;

// A fresh server allocates on its first requests whatever the body size: each connection thread's malloc
// arena keeps up to about three times the limit (the body read so far, its growth), the decoder and the
// runtime their first scratch space. With 2 connection threads (--http-threads 2), two rounds of bodies just
// under the limit on the same routes warm all of that up, so the peak measured afterwards can only grow by
// what an oversized body adds.
void warm_up(int port, const std::vector<std::pair<std::string, std::string>>& key) {
  const std::string under_limit(1000U << 10U, 'x');
  auto headers = key;
  headers.emplace_back("Content-Type", "image/jpeg");
  headers.emplace_back("Connection", "close");  // the reply ends the exchange (no keep-alive wait)
  for (const char* path : {"/v1/search", "/v1/detect", "/v2/models/fastestdet/infer", "/v1/products",
                           "/v1/search", "/v1/detect", "/v2/models/fastestdet/infer", "/v1/products"}) {
    const RawReply reply = send_chunked(port, "POST", path, headers, 0, under_limit);
    ASSERT_GT(reply.status, 0) << path;
    ASSERT_NE(reply.status, 413) << path << ": a body under the limit was refused";
  }
}

TEST_F(BodyLimitTest, ChunkedBodyOverTheLimitIsRefusedWhileReading) {
  ASSERT_NO_FATAL_FAILURE(warm_up(server_->port(), key_));
  const std::size_t before = peak_rss_bytes(server_->pid());
  ASSERT_GT(before, 0U);
  // --public-search: no key needed to reach the search route.
  expect_refused(
      send_chunked(server_->port(), "POST", "/v1/search", {{"Content-Type", "image/jpeg"}}, kOversized), 413,
      "payload_too_large");
  auto with_key = key_;
  with_key.emplace_back("Content-Type", "image/jpeg");
  expect_refused(send_chunked(server_->port(), "POST", "/v1/detect", with_key, kOversized), 413,
                 "payload_too_large");
  expect_refused(send_chunked(server_->port(), "POST", "/v2/models/fastestdet/infer", with_key, kOversized),
                 413, "payload_too_large");
  expect_refused(send_chunked(server_->port(), "POST", "/v1/products", with_key, kOversized), 413,
                 "payload_too_large");
  // A multipart body: its parts count towards the limit.
  std::string multipart =
      "--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n"
      "Content-Type: image/jpeg\r\n\r\n";
  multipart.append(kOversized, 'x');
  multipart += "\r\n--XyZ--\r\n";
  auto multipart_headers = key_;
  multipart_headers.emplace_back("Content-Type", "multipart/form-data; boundary=XyZ");
  expect_refused(send_chunked(server_->port(), "POST", "/v1/detect", multipart_headers, 0, multipart), 413,
                 "payload_too_large");
  multipart = std::string();
  // Refused before the body is read (no key, no route): the connection is closed all the same.
  expect_refused(
      send_chunked(server_->port(), "POST", "/v1/detect", {{"Content-Type", "image/jpeg"}}, kOversized), 401,
      "unauthorized");
  expect_refused(send_chunked(server_->port(), "POST", "/v1/no/such/route", with_key, kOversized), 404,
                 "not_found");
  const std::size_t after = peak_rss_bytes(server_->pid());
  EXPECT_LT(after, before + kGrowthAllowed) << "peak RSS grew from " << before << " to " << after;

  // Still serving.
  auto c = server_->client();
  auto ping = c.Get("/ping");
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->status, 200);
}

TEST_F(BodyLimitTest, CompressedBodyIsLimitedByItsDecodedSize) {
  ASSERT_NO_FATAL_FAILURE(warm_up(server_->port(), key_));
  const std::size_t before = peak_rss_bytes(server_->pid());
  const std::string bomb = gzip(std::string(kOversized, 'x'));  // about 160 KB on the wire
  ASSERT_LT(bomb.size(), kMiB);
  auto c = server_->client();
  httplib::Headers headers{{"X-API-Key", "body-limit-key-0123456789"}, {"Content-Encoding", "gzip"}};
  auto res = c.Post("/v1/detect", headers, bomb, "image/jpeg");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413) << res->body;
  EXPECT_EQ(json::parse(res->body, nullptr, false)["error"]["code"], "payload_too_large") << res->body;
  const std::size_t after = peak_rss_bytes(server_->pid());
  EXPECT_LT(after, before + kGrowthAllowed) << "peak RSS grew from " << before << " to " << after;
}

TEST_F(BodyLimitTest, ChunkedAndCompressedBodiesUnderTheLimitStillWork) {
  const std::string jpeg = read_file(sample("dog.jpg"));
  ASSERT_LT(jpeg.size(), kMiB);
  auto with_key = key_;
  with_key.emplace_back("Content-Type", "image/jpeg");
  const RawReply chunked = send_chunked(server_->port(), "POST", "/v1/detect", with_key, 0, jpeg);
  ASSERT_EQ(chunked.status, 200) << chunked.head << chunked.body;
  EXPECT_GT(json::parse(chunked.body)["objects"].size(), 0U);
  EXPECT_FALSE(chunked.closed) << "a body read in full keeps the connection alive";

  auto c = server_->client();
  httplib::Headers headers{{"X-API-Key", "body-limit-key-0123456789"}, {"Content-Encoding", "gzip"}};
  auto res = c.Post("/v1/detect", headers, gzip(jpeg), "image/jpeg");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  // Multipart (read part by part) is limited and parsed as before.
  httplib::MultipartFormDataItems items{{"image", jpeg, "dog.jpg", "image/jpeg"}};
  auto multipart = c.Post("/v1/detect", httplib::Headers{{"X-API-Key", "body-limit-key-0123456789"}}, items);
  ASSERT_TRUE(multipart);
  EXPECT_EQ(multipart->status, 200) << multipart->body;
  EXPECT_EQ(json::parse(multipart->body)["source"], "dog.jpg");
}

}  // namespace
}  // namespace visearch::testing
