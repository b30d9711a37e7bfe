// The web pages compiled into the binary (apps/server/embedded_files.h): `serve` and `label` serve them
// with no --static-dir / --web-dir, byte for byte the files in web/, with the same headers as a folder.
#include <gtest/gtest.h>

#include <string>

#include "server_fixture.h"

namespace visearch::testing {
namespace {

std::string source_file(const std::string& relative) {
  return read_file(std::string(VISEARCH_SOURCE_DIR) + "/" + relative);
}

TEST(ServerWeb, TheShopperPageIsBuiltIntoTheBinary) {
  ServerProcess server({"--models", "fastestdet"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto client = server.client();

  auto page = client.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->body, source_file("web/index.html"));
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_FALSE(page->get_header_value("Content-Security-Policy").empty());
  EXPECT_EQ(page->get_header_value("Cache-Control"), "no-cache");

  auto script = client.Get("/app.js");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_EQ(script->body, source_file("web/app.js"));
  EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript");
  EXPECT_EQ(script->get_header_value("X-Content-Type-Options"), "nosniff");

  // A second fetch with the validator costs nothing.
  const std::string etag = script->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  auto again = client.Get("/app.js", {{"If-None-Match", etag}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());

  auto head = client.Head("/index.html");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_FALSE(head->get_header_value("Content-Security-Policy").empty());

  // The labelling tool's page is `visearch label`'s, and an unknown path is the usual JSON 404.
  auto label_page = client.Get("/label/index.html");
  ASSERT_TRUE(label_page);
  EXPECT_EQ(label_page->status, 404);
  auto missing = client.Get("/no-such-page.html");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find("\"not_found\""), std::string::npos) << missing->body;
  auto api = client.Get("/v1/no-such-route");
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 404);
}

TEST(ServerWeb, NoWebUiServesOnlyTheApi) {
  ServerProcess server({"--models", "fastestdet", "--no-web-ui"});
  ASSERT_TRUE(server.ready()) << server.log();
  auto page = server.client().Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 404);
  auto models = server.client().Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(models->status, 200);
}

}  // namespace
}  // namespace visearch::testing
