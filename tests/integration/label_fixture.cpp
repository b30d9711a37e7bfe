#include "label_fixture.h"

#include "server_fixture.h"

namespace visearch::testing {

namespace fs = std::filesystem;

void copy_coco128_images(const fs::path& dir, const std::string& sub, const std::vector<std::string>& stems) {
  const fs::path source =
      fs::path(VISEARCH_SHARED_DIR) / "data" / "coco128-train2017" / "images" / "train2017";
  fs::create_directories(dir / sub);
  for (const std::string& stem : stems) fs::copy_file(source / (stem + ".jpg"), dir / sub / (stem + ".jpg"));
}

std::string file_text(const fs::path& path) {
  return read_file(path.string());
}

}  // namespace visearch::testing
