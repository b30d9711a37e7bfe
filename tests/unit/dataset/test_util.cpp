#include "test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "io/image_decode.h"

namespace visearch::dataset::testing {

namespace fs = std::filesystem;

Image make_pattern(int width, int height, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Image image = Image::allocate(width, height);
  const int bw = std::max(1, width / 8);
  const int bh = std::max(1, height / 8);
  std::vector<std::uint8_t> blocks(81);
  for (auto& b : blocks) b = static_cast<std::uint8_t>(rng() % 256);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const std::uint8_t v = blocks[static_cast<std::size_t>(std::min(8, y / bh) * 9 + std::min(8, x / bw))];
      std::uint8_t* p = image.row(y) + static_cast<std::size_t>(x) * 3;
      p[0] = v;
      p[1] = static_cast<std::uint8_t>(255 - v);
      p[2] = v;
    }
  }
  return image;
}

void write_jpeg(const fs::path& path, int width, int height, std::uint32_t seed, int quality) {
  auto jpeg = encode_jpeg(make_pattern(width, height, seed), quality);
  ASSERT_TRUE(jpeg) << jpeg.error().message;
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(jpeg->data()), static_cast<std::streamsize>(jpeg->size()));
}

std::string list_tree(const fs::path& dir) {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_directory()) files.push_back(entry.path().lexically_relative(dir).generic_string());
  }
  std::sort(files.begin(), files.end());
  std::string out;
  for (const std::string& f : files) out += f + "\n";
  return out;
}

}  // namespace visearch::dataset::testing
