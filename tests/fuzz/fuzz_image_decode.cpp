// libFuzzer target for decode_image(): any input must produce a value or an error, never a crash,
// leak, hang or sanitizer report. A small pixel limit keeps each input cheap; the decoded image
// is checked for internal consistency. Every other input is also decoded shrunk (JPEG's DCT scaling and
// WebP's scaled decoding, the paths `detect` takes for big photos), with a target taken from the input's
// size.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "io/image_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  visearch::DecodeLimits limits;
  limits.max_pixels = std::uint64_t{4096} * 4096;
  if (size % 2 == 1) {
    const int side = 8 + static_cast<int>(size % 97);
    limits.shrink_target = {side, side + static_cast<int>(size % 13)};
    limits.shrink_keep_aspect = size % 4 == 1;
    limits.shrink_headroom = 1.F + static_cast<float>(size % 3);
  }
  const visearch::Result<visearch::DecodedImage> result =
      visearch::decode_image(std::span<const std::uint8_t>(data, size), limits);
  if (result) {
    const visearch::Image& image = result->image;
    const auto expected = static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height) * 3;
    if (image.width <= 0 || image.height <= 0 || image.pixels.size() != expected) std::abort();
    // Shrunk or not, the full size is the upright header size, and never smaller than the pixels.
    if (result->full_size.width < image.width || result->full_size.height < image.height) std::abort();
    if (result->full_size.width * result->full_size.height !=
        result->encoded_width * result->encoded_height) {
      std::abort();
    }
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
