#include "train_fixture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "io/image_decode.h"

namespace visearch::train::test {
namespace fs = std::filesystem;

fs::path aquarium_dir() {
  return fs::path(VISEARCH_SHARED_DIR) / "data" / "aquarium";
}

Image load_image(const fs::path& path) {
  auto bytes = read_file_bytes(path.string(), 1 << 26);
  EXPECT_TRUE(bytes) << path;
  if (!bytes) return {};
  auto decoded = decode_image(*bytes, DecodeLimits{});
  EXPECT_TRUE(decoded) << path;
  return decoded ? std::move(decoded->image) : Image{};
}

Image sample_image(const std::string& name) {
  return load_image(fs::path(VISEARCH_SHARED_DIR) / "data" / "samples" / name);
}

namespace {

const char* const kNames[] = {"fish", "jellyfish", "penguin", "puffin", "shark", "starfish", "stingray"};

void copy_split(const fs::path& from, const fs::path& to, int count, int class_id, int max_boxes) {
  fs::create_directories(to / "images");
  fs::create_directories(to / "labels");
  std::vector<fs::path> labels;
  for (const auto& e : fs::directory_iterator(from / "labels")) labels.push_back(e.path());
  std::sort(labels.begin(), labels.end());
  int taken = 0;
  for (const fs::path& label : labels) {
    if (taken == count) break;
    std::ifstream in(label);
    std::string line;
    int boxes = 0;
    bool has_class = false;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      ++boxes;
      has_class = has_class || std::stoi(line) == class_id;
    }
    if (!has_class || boxes > max_boxes) continue;
    const fs::path image = from / "images" / (label.stem().string() + ".jpg");
    if (!fs::exists(image)) continue;
    fs::create_symlink(image, to / "images" / image.filename());
    // Only the chosen class is kept, so that every other class certainly has no box.
    std::ifstream again(label);
    std::ofstream out(to / "labels" / label.filename());
    while (std::getline(again, line)) {
      if (!line.empty() && std::stoi(line) == class_id) out << line << "\n";
    }
    ++taken;
  }
}

}  // namespace

MiniDataset make_mini_aquarium(const fs::path& root, int train_images, int val_images, int class_id,
                               int max_boxes) {
  copy_split(aquarium_dir() / "train", root / "train", train_images, class_id, max_boxes);
  copy_split(aquarium_dir() / "valid", root / "valid", val_images, class_id, max_boxes);
  std::ofstream yaml(root / "data.yaml");
  yaml << "path: .\ntrain: train/images\nval: valid/images\nnc: 7\n"
          "names: ['fish', 'jellyfish', 'penguin', 'puffin', 'shark', 'starfish', 'stingray']\n";
  return MiniDataset{root.string(), kNames[class_id]};
}

}  // namespace visearch::train::test
