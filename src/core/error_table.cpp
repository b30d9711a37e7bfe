#include "core/error_table.h"

#include <array>

namespace visearch {
namespace {

// Exit codes: 1 = some input failed, 2 = usage/configuration, 3 = model problem, 4 = internal.
constexpr std::array kErrorTable{
    ErrorInfo{ErrorCode::kInvalidArgument, "invalid_argument", 400, 2},
    ErrorInfo{ErrorCode::kNotFound, "not_found", 404, 1},
    ErrorInfo{ErrorCode::kUnsupportedFormat, "unsupported_format", 415, 1},
    ErrorInfo{ErrorCode::kCorruptImage, "corrupt_image", 400, 1},
    ErrorInfo{ErrorCode::kImageTooLarge, "image_too_large", 422, 1},
    ErrorInfo{ErrorCode::kPayloadTooLarge, "payload_too_large", 413, 1},
    ErrorInfo{ErrorCode::kUnsupportedMediaType, "unsupported_media_type", 415, 2},
    ErrorInfo{ErrorCode::kModelMissing, "model_missing", 503, 3},
    ErrorInfo{ErrorCode::kChecksumMismatch, "checksum_mismatch", 503, 3},
    ErrorInfo{ErrorCode::kInvalidSpec, "invalid_spec", 500, 3},
    ErrorInfo{ErrorCode::kInference, "inference_failed", 500, 4},
    ErrorInfo{ErrorCode::kIo, "io_error", 500, 1},
    ErrorInfo{ErrorCode::kUnauthorized, "unauthorized", 401, 2},
    ErrorInfo{ErrorCode::kUnavailable, "unavailable", 503, 4},
    ErrorInfo{ErrorCode::kDeadlineExceeded, "deadline_exceeded", 504, 4},
    ErrorInfo{ErrorCode::kConflict, "conflict", 409, 1},
    ErrorInfo{ErrorCode::kInternal, "internal", 500, 4},
};

}  // namespace

const ErrorInfo& error_info(ErrorCode code) {
  for (const ErrorInfo& info : kErrorTable) {
    if (info.code == code) return info;
  }
  return kErrorTable.back();
}

}  // namespace visearch
