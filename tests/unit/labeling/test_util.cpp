#include "test_util.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "support/image_fixtures.h"

namespace visearch::labeling::testing {

namespace fs = std::filesystem;

void write_jpeg(const fs::path& path, int width, int height) {
  fs::create_directories(path.parent_path());
  const std::vector<std::uint8_t> bytes =
      visearch::test::make_jpeg(visearch::test::make_gradient_image(width, height));
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));  // NOLINT
}

void write_jpeg_oriented(const fs::path& path, int upright_width, int upright_height, int orientation) {
  fs::create_directories(path.parent_path());
  const std::vector<std::uint8_t> bytes = visearch::test::make_jpeg_with_orientation(
      visearch::test::make_gradient_image(upright_width, upright_height), orientation);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));  // NOLINT
}

}  // namespace visearch::labeling::testing
