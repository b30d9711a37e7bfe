// The real `visearch label DATASET_DIR` as a child process (LabelServer), plus temporary data-set folders
// made from coco128 photos.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "server_fixture.h"
#include "support/temp_files.h"

namespace visearch::testing {

// `visearch label DATASET_DIR FLAGS...` on a free loopback port (ServerProcess with the label subcommand):
// ready once /ping answers 200 (the detector is loaded).
class LabelServer : public ServerProcess {
 public:
  explicit LabelServer(std::vector<std::string> args) : ServerProcess("label", std::move(args)) {}
};

using ScratchDir = visearch::test::TempDir;

// Copies coco128 images (by stem) into `dir`/`sub`.
void copy_coco128_images(const std::filesystem::path& dir, const std::string& sub,
                         const std::vector<std::string>& stems);
std::string file_text(const std::filesystem::path& path);
// Every file under `dir` with its bytes (sorted), to show that nothing was written.
using visearch::test::snapshot_tree;

}  // namespace visearch::testing
