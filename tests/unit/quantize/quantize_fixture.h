// A YOLO data set of 32x32 PNGs for the generated conv_grid_tiny detector (tests/data/models): grey images
// with one pure red (apple), green (bottle) and blue (cup) 4x4 cell each, the cells the model scores. The
// train split is the calibration data; `dark_train` makes its images near-black instead, calibration data
// that does not represent the validation images.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/image_fixtures.h"

namespace visearch::test {

inline void write_grid_dataset(const std::filesystem::path& root, int train_images, int val_images,
                               bool dark_train) {
  namespace fs = std::filesystem;
  std::filesystem::create_directories(root);
  std::ofstream(root / "data.yaml") << "train: images/train\nval: images/val\nnames: [apple, bottle, cup]\n";
  std::uint32_t seed = 12345;
  const auto next = [&seed]() {
    seed = seed * 1664525U + 1013904223U;
    return seed >> 8U;
  };
  for (const auto& [split, count] :
       {std::pair<std::string, int>{"train", train_images}, {"val", val_images}}) {
    fs::create_directories(root / "images" / split);
    fs::create_directories(root / "labels" / split);
    const bool dark = dark_train && split == "train";
    for (int i = 0; i < count; ++i) {
      Image image = make_solid_image(32, 32, dark ? Rgb{10, 10, 10} : Rgb{128, 128, 128});
      std::ofstream labels(root / "labels" / split / ("img" + std::to_string(i) + ".txt"));
      int used[3] = {-1, -1, -1};
      for (int c = 0; c < 3; ++c) {
        int cell = 0;
        do {
          cell = static_cast<int>(next() % 64U);
        } while (cell == used[0] || cell == used[1]);
        used[c] = cell;
        const int gx = cell % 8;
        const int gy = cell / 8;
        const std::uint8_t on = dark ? 25 : 255;
        const std::uint8_t off = dark ? 10 : 0;
        for (int y = 4 * gy; y < 4 * gy + 4; ++y) {
          for (int x = 4 * gx; x < 4 * gx + 4; ++x) {
            std::uint8_t* p =
                image.pixels.data() + (static_cast<std::size_t>(y) * 32 + static_cast<std::size_t>(x)) * 3;
            for (int k = 0; k < 3; ++k) p[k] = k == c ? on : off;
          }
        }
        labels << c << " " << (4.0 * gx + 2) / 32 << " " << (4.0 * gy + 2) / 32 << " 0.125 0.125\n";
      }
      const auto png = make_png(image);
      std::ofstream(root / "images" / split / ("img" + std::to_string(i) + ".png"), std::ios::binary)
          .write(reinterpret_cast<const char*>(png.data()),
                 static_cast<std::streamsize>(png.size()));  // NOLINT
    }
  }
}

}  // namespace visearch::test
