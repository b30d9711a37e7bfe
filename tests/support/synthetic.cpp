// Synthetic images, comparisons, EXIF blocks and the address-space limit.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "core/result.h"
#include "support/image_fixtures.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define VISEARCH_TEST_SHADOW_MEMORY 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define VISEARCH_TEST_SHADOW_MEMORY 1
#endif
#endif

namespace visearch::test {

Image make_solid_image(int width, int height, Rgb colour) {
  Image img = Image::allocate(width, height);
  for (std::size_t i = 0; i + 2 < img.pixels.size(); i += 3) {
    img.pixels[i] = colour.r;
    img.pixels[i + 1] = colour.g;
    img.pixels[i + 2] = colour.b;
  }
  return img;
}

Image make_quadrant_image(int width, int height) {
  Image img = Image::allocate(width, height);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const bool right = x >= width / 2;
      const bool bottom = y >= height / 2;
      const Rgb c = bottom ? (right ? kQuadrantBottomRight : kQuadrantBottomLeft)
                           : (right ? kQuadrantTopRight : kQuadrantTopLeft);
      std::uint8_t* p = img.row(y) + static_cast<std::size_t>(x) * 3;
      p[0] = c.r;
      p[1] = c.g;
      p[2] = c.b;
    }
  }
  return img;
}

Image make_gradient_image(int width, int height) {
  Image img = Image::allocate(width, height);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      std::uint8_t* p = img.row(y) + static_cast<std::size_t>(x) * 3;
      p[0] = static_cast<std::uint8_t>(40 + 170 * x / std::max(1, width - 1));
      p[1] = static_cast<std::uint8_t>(40 + 170 * y / std::max(1, height - 1));
      p[2] = static_cast<std::uint8_t>(200 - 120 * (x + y) / std::max(1, width + height - 2));
    }
  }
  return img;
}

Rgb pixel_at(const Image& image, int x, int y) {
  VISEARCH_ASSERT(x >= 0 && y >= 0 && x < image.width && y < image.height, "pixel_at out of range");
  const std::uint8_t* p = image.row(y) + static_cast<std::size_t>(x) * 3;
  return Rgb{p[0], p[1], p[2]};
}

int channel_distance(Rgb a, Rgb b) {
  return std::max({std::abs(a.r - b.r), std::abs(a.g - b.g), std::abs(a.b - b.b)});
}

double mean_abs_diff(const Image& a, const Image& b) {
  if (a.width != b.width || a.height != b.height || a.pixels.size() != b.pixels.size()) return 255.0;
  if (a.pixels.empty()) return 0.0;
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i)
    sum += static_cast<std::uint64_t>(std::abs(a.pixels[i] - b.pixels[i]));
  return static_cast<double>(sum) / static_cast<double>(a.pixels.size());
}

int max_abs_diff(const Image& a, const Image& b) {
  if (a.width != b.width || a.height != b.height || a.pixels.size() != b.pixels.size()) return 255;
  int worst = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i)
    worst = std::max(worst, std::abs(a.pixels[i] - b.pixels[i]));
  return worst;
}

std::uint8_t luma(Rgb c) {
  const double y = 0.299 * c.r + 0.587 * c.g + 0.114 * c.b;
  return static_cast<std::uint8_t>(std::clamp(y + 0.5, 0.0, 255.0));
}

std::vector<std::uint8_t> make_exif_tiff(int orientation, bool little_endian) {
  std::vector<std::uint8_t> out;
  const auto put16 = [&](unsigned v) {
    if (little_endian) {
      out.push_back(static_cast<std::uint8_t>(v & 0xFF));
      out.push_back(static_cast<std::uint8_t>(v >> 8));
    } else {
      out.push_back(static_cast<std::uint8_t>(v >> 8));
      out.push_back(static_cast<std::uint8_t>(v & 0xFF));
    }
  };
  const auto put32 = [&](unsigned v) {
    if (little_endian) {
      put16(v & 0xFFFF);
      put16(v >> 16);
    } else {
      put16(v >> 16);
      put16(v & 0xFFFF);
    }
  };
  out.push_back(little_endian ? 'I' : 'M');
  out.push_back(little_endian ? 'I' : 'M');
  put16(42);
  put32(8);       // IFD0 offset
  put16(1);       // one entry
  put16(0x0112);  // Orientation
  put16(3);       // SHORT
  put32(1);       // count
  put16(static_cast<unsigned>(orientation));
  put16(0);  // value padding
  put32(0);  // no next IFD
  return out;
}

bool ScopedAddressSpaceLimit::supported() {
#ifdef VISEARCH_TEST_SHADOW_MEMORY
  return false;
#else
  return true;
#endif
}

ScopedAddressSpaceLimit::ScopedAddressSpaceLimit(std::uint64_t headroom_bytes) {
  if (!supported()) return;
  rlimit current{};
  if (getrlimit(RLIMIT_AS, &current) != 0) return;
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) return;
  unsigned long long pages = 0;
  const int fields = std::fscanf(statm, "%llu", &pages);
  std::fclose(statm);
  if (fields != 1) return;
  const std::uint64_t used =
      static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  rlimit lowered = current;
  lowered.rlim_cur = used + headroom_bytes;
  if (current.rlim_max != RLIM_INFINITY && lowered.rlim_cur > current.rlim_max) return;
  if (current.rlim_cur != RLIM_INFINITY && lowered.rlim_cur > current.rlim_cur) return;
  if (setrlimit(RLIMIT_AS, &lowered) != 0) return;
  old_soft_ = current.rlim_cur;
  active_ = true;
}

ScopedAddressSpaceLimit::~ScopedAddressSpaceLimit() {
  if (!active_) return;
  rlimit current{};
  if (getrlimit(RLIMIT_AS, &current) != 0) return;
  current.rlim_cur = old_soft_;
  setrlimit(RLIMIT_AS, &current);
}

}  // namespace visearch::test
