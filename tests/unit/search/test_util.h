// Helpers for the search unit tests: a temporary folder removed at the end of the test, small images.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/image.h"
#include "io/image_decode.h"
#include "search/product.h"

namespace visearch::search::testing {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("visearch_search_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] std::string path() const { return path_.string(); }
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
}

// A w x h image filled with one colour.
inline Image solid_image(int w, int h, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  Image image = Image::allocate(w, h);
  for (std::size_t i = 0; i < image.pixels.size(); i += 3) {
    image.pixels[i] = r;
    image.pixels[i + 1] = g;
    image.pixels[i + 2] = b;
  }
  return image;
}

// A w x h JPEG filled with one colour.
inline std::string solid_jpeg(int w, int h, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  auto jpeg = encode_jpeg(solid_image(w, h, r, g, b), 90);
  return jpeg ? std::string(jpeg->begin(), jpeg->end()) : std::string();
}

// A unit vector of `dim` values along axis `axis`, optionally mixed with a second axis.
inline std::vector<float> axis_vector(int dim, int axis, int other = -1, float mix = 0.F) {
  std::vector<float> v(static_cast<std::size_t>(dim), 0.F);
  v[static_cast<std::size_t>(axis)] = 1.F;
  if (other >= 0) v[static_cast<std::size_t>(other)] = mix;
  float norm = 0;
  for (float x : v) norm += x * x;
  for (float& x : v) x /= std::sqrt(norm);
  return v;
}

// A product with one image (no file behind it) holding one object vector.
inline ProductRecord product(const std::string& id, const std::string& title, const std::string& category,
                             std::optional<double> price, std::vector<float> embedding,
                             std::map<std::string, std::string> attributes = {}) {
  ProductRecord r;
  r.product.id = id;
  r.product.title = title;
  r.product.category = category;
  r.product.price = price;
  r.product.attributes = std::move(attributes);
  ProductImage image;
  image.file = "images/none.jpg";
  image.sha256 = id;
  image.content_type = "image/jpeg";
  r.product.images.push_back(image);
  IndexedObject object;
  object.embedding = std::move(embedding);
  r.objects.push_back(std::move(object));
  return r;
}

}  // namespace visearch::search::testing
