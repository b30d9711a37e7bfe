// Result<T>: a value or an Error, for failures a caller is expected to handle
// (bad input, missing model, unsupported format). Invariants use VISEARCH_ASSERT.
//
//   Result<Image> img = decode_image(bytes, limits);
//   if (!img) return img.error();          // propagate
//   use(*img);
//
// Thread-safety: plain value types.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace visearch {

// Every expected failure has one code; apps map codes to HTTP status and exit
// codes through one table (core/error_table.h).
enum class ErrorCode {
  kInvalidArgument,    // a parameter or request field is wrong
  kNotFound,           // unknown model, route, product, file
  kUnsupportedFormat,  // bytes are not an image format we read
  kCorruptImage,       // a known format that fails to decode
  kImageTooLarge,      // pixel count above the configured limit
  kPayloadTooLarge,    // byte size above the configured limit
  kUnsupportedMediaType,
  kModelMissing,      // weight file not found
  kChecksumMismatch,  // weight file present but its sha256 differs
  kInvalidSpec,       // model spec file malformed
  kInference,         // the runtime failed on a valid input
  kIo,                // read/write failure
  kUnauthorized,
  kUnavailable,  // queue full, not ready
  kDeadlineExceeded,
  kConflict,  // the request contradicts the current state (e.g. unloading the default model)
  kInternal,
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

// Tag to build an error Result: `return Unexpected{ErrorCode::kIo, "..."};`
struct Unexpected {
  Error error;
  Unexpected(ErrorCode code, std::string message) : error{code, std::move(message)} {}
  explicit Unexpected(Error err) : error(std::move(err)) {}
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value)
      : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Unexpected err) : state_(std::in_place_index<1>, std::move(err.error)) {}  // NOLINT
  Result(Error err) : state_(std::in_place_index<1>, std::move(err)) {}             // NOLINT

  [[nodiscard]] bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  [[nodiscard]] T& value() & { return std::get<0>(state_); }
  [[nodiscard]] const T& value() const& { return std::get<0>(state_); }
  [[nodiscard]] T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  [[nodiscard]] const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

// Result<void>: success or an Error.
struct Ok {};
using Status = Result<Ok>;
inline Status ok_status() {
  return Ok{};
}

[[noreturn]] inline void assert_fail(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "visearch: internal invariant violated: %s (%s) at %s:%d\n", msg, expr, file, line);
  std::abort();
}

}  // namespace visearch

// For invariants only, never for user input.
// NOLINTNEXTLINE(cppcoreguidelines-macro-usage): needs the expression text and __FILE__/__LINE__
#define VISEARCH_ASSERT(cond, msg) \
  ((cond) ? static_cast<void>(0) : ::visearch::assert_fail(#cond, __FILE__, __LINE__, msg))

// Propagates an Error from an expression returning Result<...>.
// NOLINTNEXTLINE(cppcoreguidelines-macro-usage): an early return cannot be a function
#define VISEARCH_TRY(expr)                 \
  do {                                     \
    auto visearch_try_result_ = (expr);    \
    if (!visearch_try_result_) {           \
      return visearch_try_result_.error(); \
    }                                      \
  } while (false)
