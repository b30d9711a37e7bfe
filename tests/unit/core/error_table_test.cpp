#include "core/error_table.h"

#include <gtest/gtest.h>

namespace visearch {
namespace {

TEST(ErrorTable, MapsCodesToHttpStatusAndExitCode) {
  EXPECT_EQ(error_info(ErrorCode::kCorruptImage).http_status, 400);
  EXPECT_EQ(error_info(ErrorCode::kNotFound).http_status, 404);
  EXPECT_EQ(error_info(ErrorCode::kPayloadTooLarge).http_status, 413);
  EXPECT_EQ(error_info(ErrorCode::kUnsupportedFormat).http_status, 415);
  EXPECT_EQ(error_info(ErrorCode::kImageTooLarge).http_status, 422);
  EXPECT_EQ(error_info(ErrorCode::kUnavailable).http_status, 503);
  EXPECT_EQ(error_info(ErrorCode::kDeadlineExceeded).http_status, 504);
  EXPECT_EQ(error_info(ErrorCode::kImageTooLarge).name, "image_too_large");
  EXPECT_NE(error_info(ErrorCode::kCorruptImage).exit_code, 0);
}

}  // namespace
}  // namespace visearch
