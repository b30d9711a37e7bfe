// Fuzzes the labelling tool's save request body (PUT of an image's boxes): JSON with a version and boxes
// in image pixels, checked against the data set's classes and the image size. Must return a value or an
// error for any bytes: no crash, no sanitizer report, no exception.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "labeling/box_payload.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<std::string> classes{"person", "bicycle", "car", "dog"};
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): libFuzzer hands bytes
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  static_cast<void>(visearch::labeling::parse_save_payload(body, classes, visearch::Size{640, 480}, 3));
  static_cast<void>(visearch::labeling::parse_save_payload(body, {}, visearch::Size{1, 1}, 0));
  return 0;
}
