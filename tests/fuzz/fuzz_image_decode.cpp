// libFuzzer target for decode_image(): any input must produce a value or an error, never a crash,
// leak, hang or sanitizer report. A small pixel limit keeps each input cheap; the decoded image
// is checked for internal consistency.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "io/image_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  visearch::DecodeLimits limits;
  limits.max_pixels = std::uint64_t{4096} * 4096;
  const visearch::Result<visearch::DecodedImage> result =
      visearch::decode_image(std::span<const std::uint8_t>(data, size), limits);
  if (result) {
    const visearch::Image& image = result->image;
    const auto expected = static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height) * 3;
    if (image.width <= 0 || image.height <= 0 || image.pixels.size() != expected) std::abort();
    if (static_cast<std::uint64_t>(result->encoded_width) *
            static_cast<std::uint64_t>(result->encoded_height) >
        limits.max_pixels) {
      std::abort();
    }
  } else if (result.error().message.empty()) {
    std::abort();
  }
  return 0;
}
