// ModelRepository: where specs and weight files are found.
//
// Specs: every *.json in the spec directories (the repository's models/ by
// default), or a path to a .json given directly as the model name.
// Weights and other files named by a spec are looked up, in order, in:
//   1. the --model-dir directories given on the command line,
//   2. the directories in $VISEARCH_MODEL_PATH (colon-separated),
//   3. the fallback directory configured at build time (../shared/models beside the repository).
// A missing file or a sha256 mismatch is an error naming the file and every place looked.
//
// Thread-safety: const methods are safe to call concurrently.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "model/model_spec.h"

namespace visearch {

struct ResolvedFile {
  std::string path;
  std::string sha256;  // computed (when verified) or empty
};

struct FileStatus {
  bool present = false;
  bool checksum_ok = false;
  std::string path;     // where it was found (empty when missing)
  std::string message;  // why not usable
};

class ModelRepository {
 public:
  ModelRepository(std::vector<std::string> spec_dirs, std::vector<std::string> model_dirs);

  // Directories from the defaults: the build-time spec dir, $VISEARCH_MODEL_PATH, build-time model dir.
  static ModelRepository with_defaults(const std::vector<std::string>& extra_model_dirs);

  [[nodiscard]] const std::vector<std::string>& model_dirs() const { return model_dirs_; }
  [[nodiscard]] const std::vector<std::string>& spec_dirs() const { return spec_dirs_; }

  // All specs in the spec directories, sorted by name. Malformed specs are
  // returned as errors in `problems` rather than failing the whole list.
  [[nodiscard]] std::vector<ModelSpec> list_specs(std::vector<Error>* problems = nullptr) const;
  // By name, or by path when `name_or_path` ends in .json.
  [[nodiscard]] Result<ModelSpec> find_spec(const std::string& name_or_path) const;

  // Finds a file and verifies its sha256 when the ref has one.
  [[nodiscard]] Result<ResolvedFile> resolve(const FileRef& ref, bool verify_checksum = true) const;
  [[nodiscard]] FileStatus status(const FileRef& ref) const;

 private:
  std::vector<std::string> spec_dirs_;
  std::vector<std::string> model_dirs_;
};

}  // namespace visearch
