#include "dataset/image_hash.h"

#include <opencv2/imgproc.hpp>

#include <bit>
#include <map>
#include <numeric>

#include "core/sha256.h"
#include "io/image_decode.h"

namespace visearch::dataset {

std::uint64_t difference_hash(const Image& image) {
  if (image.empty() || image.pixels.size() < image.row_bytes() * static_cast<std::size_t>(image.height))
    return 0;
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): cv::Mat has no const view; only read.
  const cv::Mat rgb(image.height, image.width, CV_8UC3, const_cast<std::uint8_t*>(image.pixels.data()));
  cv::Mat grey;
  cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);
  cv::Mat small;
  cv::resize(grey, small, cv::Size(9, 8), 0, 0, cv::INTER_AREA);
  std::uint64_t hash = 0;
  for (int y = 0; y < 8; ++y) {
    const auto* row = small.ptr<std::uint8_t>(y);
    for (int x = 0; x < 8; ++x) {
      if (row[x] > row[x + 1]) hash |= std::uint64_t{1} << static_cast<unsigned>(y * 8 + x);
    }
  }
  return hash;
}

int hamming_distance(std::uint64_t a, std::uint64_t b) {
  return std::popcount(a ^ b);
}

ImageFingerprint fingerprint_image(const std::string& path) {
  ImageFingerprint out;
  auto digest = sha256_file(path);
  if (!digest) {
    out.error = digest.error().message;
    return out;
  }
  out.sha256 = *digest;
  auto bytes = read_file_bytes(path, std::uint64_t{512} << 20U, FileKind::kRegularOnly);
  if (!bytes) {
    out.error = bytes.error().message;
    return out;
  }
  auto decoded = decode_image(*bytes, DecodeLimits{});
  if (!decoded) {
    out.error = decoded.error().message;
    return out;
  }
  out.width = decoded->image.width;
  out.height = decoded->image.height;
  out.dhash = difference_hash(decoded->image);
  out.ok = true;
  return out;
}

namespace {

class UnionFind {
 public:
  explicit UnionFind(std::size_t n) : parent_(n) {
    std::iota(parent_.begin(), parent_.end(), std::size_t{0});
  }
  std::size_t find(std::size_t x) {
    while (parent_[x] != x) {
      parent_[x] = parent_[parent_[x]];
      x = parent_[x];
    }
    return x;
  }
  void unite(std::size_t a, std::size_t b) {
    a = find(a);
    b = find(b);
    if (a != b) parent_[std::max(a, b)] = std::min(a, b);
  }

 private:
  std::vector<std::size_t> parent_;
};

}  // namespace

DuplicateGroups find_duplicates(const std::vector<ImageFingerprint>& prints, int max_distance) {
  DuplicateGroups out;
  UnionFind components(prints.size());
  std::map<std::string, std::vector<std::size_t>> by_sha;
  for (std::size_t i = 0; i < prints.size(); ++i) {
    if (prints[i].ok) by_sha[prints[i].sha256].push_back(i);
  }
  std::vector<std::size_t> representatives;  // one image per distinct content
  for (const auto& [sha, group] : by_sha) {
    representatives.push_back(group.front());
    if (group.size() > 1) out.exact.push_back(group);
    for (std::size_t j = 1; j < group.size(); ++j) components.unite(group.front(), group[j]);
  }
  std::sort(out.exact.begin(), out.exact.end());
  std::sort(representatives.begin(), representatives.end());
  if (max_distance >= 0) {
    for (std::size_t a = 0; a < representatives.size(); ++a) {
      for (std::size_t b = a + 1; b < representatives.size(); ++b) {
        const std::size_t i = representatives[a];
        const std::size_t j = representatives[b];
        const int d = hamming_distance(prints[i].dhash, prints[j].dhash);
        if (d <= max_distance) {
          out.near.emplace_back(i, j);
          out.near_distance.push_back(d);
          components.unite(i, j);
        }
      }
    }
  }
  out.component.resize(prints.size());
  for (std::size_t i = 0; i < prints.size(); ++i) out.component[i] = components.find(i);
  return out;
}

}  // namespace visearch::dataset
