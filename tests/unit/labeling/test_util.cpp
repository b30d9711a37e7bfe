#include "test_util.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "support/image_fixtures.h"

namespace visearch::labeling::testing {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string templ = (fs::temp_directory_path() / "visearch_label_test_XXXXXX").string();
  char* made = ::mkdtemp(templ.data());
  path_ = made != nullptr ? fs::path(made) : fs::path(templ);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

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

std::string snapshot_tree(const fs::path& dir) {
  std::vector<std::string> lines;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    lines.push_back(entry.path().lexically_relative(dir).generic_string() + "\n" + read_text(entry.path()));
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const std::string& l : lines) out += l + "\n--\n";
  return out;
}

}  // namespace visearch::labeling::testing
