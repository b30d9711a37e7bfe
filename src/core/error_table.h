// The one table mapping each ErrorCode to its wire name, HTTP status and CLI
// exit status. Apps never choose a status themselves.
#pragma once

#include <string_view>

#include "core/result.h"

namespace visearch {

struct ErrorInfo {
  ErrorCode code;
  std::string_view name;  // stable machine-readable code, e.g. "image_too_large"
  int http_status;
  int exit_code;
};

const ErrorInfo& error_info(ErrorCode code);

}  // namespace visearch
