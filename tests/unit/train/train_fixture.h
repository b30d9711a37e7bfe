// Small data sets cut from ../shared/data/aquarium (YOLO layout, images linked, labels copied) for the
// training tests, so that a few epochs at a small input size run in seconds.
#pragma once

#include <filesystem>
#include <string>

#include "core/image.h"

namespace visearch::train::test {

std::filesystem::path aquarium_dir();

// A photo decoded as detect decodes it (upright RGB); an empty image, with a test failure, when it cannot
// be read. sample_image("bus.jpg") reads ../shared/data/samples/bus.jpg.
Image load_image(const std::filesystem::path& path);
Image sample_image(const std::string& name);

struct MiniDataset {
  std::string path;         // folder with data.yaml
  std::string first_class;  // a class every training image has
};

// `train_images` training and `val_images` validation images that contain class `class_id`, each with at
// most `max_boxes` boxes; only the boxes of that class are kept.
MiniDataset make_mini_aquarium(const std::filesystem::path& root, int train_images, int val_images,
                               int class_id, int max_boxes);

}  // namespace visearch::train::test
