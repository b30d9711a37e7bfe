// Small assertions shared by the io test files.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "core/result.h"

namespace visearch::test {

// Error messages are one line without trailing whitespace.
inline ::testing::AssertionResult is_one_line_message(const std::string& message) {
  if (message.empty()) return ::testing::AssertionFailure() << "empty message";
  if (message.find('\n') != std::string::npos || message.find('\r') != std::string::npos) {
    return ::testing::AssertionFailure() << "multi-line message: " << message;
  }
  if (message.back() == ' ') return ::testing::AssertionFailure() << "trailing space: '" << message << "'";
  return ::testing::AssertionSuccess();
}

template <typename T>
::testing::AssertionResult fails_with(const Result<T>& result, ErrorCode code) {
  if (result.has_value()) return ::testing::AssertionFailure() << "expected an error, got a value";
  if (result.error().code != code) {
    return ::testing::AssertionFailure()
           << "error code " << static_cast<int>(result.error().code) << " (" << result.error().message
           << "), expected " << static_cast<int>(code);
  }
  return is_one_line_message(result.error().message);
}

}  // namespace visearch::test
