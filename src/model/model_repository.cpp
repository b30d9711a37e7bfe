#include "model/model_repository.h"

#include "core/install_layout.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <sstream>

#include "core/sha256.h"

namespace visearch {
namespace fs = std::filesystem;
namespace {

// Other JSON files live beside specs in model folders; a spec is an object with a "family".
bool looks_like_spec(const fs::path& file) {
  std::ifstream in(file);
  const nlohmann::json doc = nlohmann::json::parse(in, nullptr, false);
  return doc.is_discarded() || (doc.is_object() && doc.contains("family"));
}

}  // namespace

ModelRepository::ModelRepository(std::vector<std::string> spec_dirs, std::vector<std::string> model_dirs)
    : spec_dirs_(std::move(spec_dirs)), model_dirs_(std::move(model_dirs)) {}

ModelRepository ModelRepository::with_defaults(const std::vector<std::string>& extra_model_dirs) {
  std::vector<std::string> model_dirs = extra_model_dirs;
  if (const char* env = std::getenv("VISEARCH_MODEL_PATH"); env != nullptr) {
    std::stringstream parts(env);
    std::string part;
    while (std::getline(parts, part, ':')) {
      if (!part.empty()) model_dirs.push_back(part);
    }
  }
  for (const fs::path& dir : default_weight_dirs()) model_dirs.push_back(dir.string());
  std::vector<std::string> spec_dirs;
  if (const char* env = std::getenv("VISEARCH_SPEC_PATH"); env != nullptr && *env != '\0')
    spec_dirs.emplace_back(env);
  spec_dirs.push_back(find_resource("models").string());
  // A model folder given on the command line may hold its own spec (a trained model's folder does).
  for (const std::string& dir : extra_model_dirs) spec_dirs.push_back(dir);
  return {std::move(spec_dirs), std::move(model_dirs)};
}

std::vector<ModelSpec> ModelRepository::list_specs(std::vector<Error>* problems) const {
  std::vector<ModelSpec> specs;
  for (const std::string& dir : spec_dirs_) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".json") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      if (!looks_like_spec(file)) continue;  // metrics.json, reference_detections.json, ...
      auto spec = load_model_spec_file(file.string());
      if (!spec) {
        if (problems != nullptr) problems->push_back(spec.error());
        continue;
      }
      const bool duplicate =
          std::any_of(specs.begin(), specs.end(), [&](const ModelSpec& s) { return s.name == spec->name; });
      if (!duplicate) specs.push_back(std::move(*spec));
    }
  }
  std::sort(specs.begin(), specs.end(),
            [](const ModelSpec& a, const ModelSpec& b) { return a.name < b.name; });
  return specs;
}

Result<ModelSpec> ModelRepository::find_spec(const std::string& name_or_path) const {
  if (name_or_path.ends_with(".json")) return load_model_spec_file(name_or_path);
  std::vector<Error> problems;
  std::vector<ModelSpec> specs = list_specs(&problems);
  for (ModelSpec& spec : specs) {
    if (spec.name == name_or_path) return std::move(spec);
  }
  std::string known;
  for (const ModelSpec& spec : specs) known += (known.empty() ? "" : ", ") + spec.name;
  std::string message = "unknown model '" + name_or_path + "' (known: " + known + ")";
  for (const Error& problem : problems) message += "; skipped invalid spec " + problem.message;
  return Unexpected{ErrorCode::kNotFound, message};
}

Result<ResolvedFile> ModelRepository::resolve(const FileRef& ref, bool verify_checksum) const {
  std::vector<std::string> tried;
  auto check = [&](const fs::path& candidate) -> std::optional<Result<ResolvedFile>> {
    std::error_code ec;
    if (!fs::is_regular_file(candidate, ec)) {
      tried.push_back(candidate.string());
      return std::nullopt;
    }
    ResolvedFile found{candidate.string(), ""};
    if (verify_checksum && !ref.sha256.empty()) {
      auto digest = sha256_file(found.path);
      if (!digest) return Result<ResolvedFile>(digest.error());
      if (*digest != ref.sha256) {
        return Result<ResolvedFile>(
            Unexpected{ErrorCode::kChecksumMismatch, "checksum mismatch for " + found.path + ": sha256 " +
                                                         *digest + ", the spec expects " + ref.sha256});
      }
      found.sha256 = *digest;
    }
    return Result<ResolvedFile>(found);
  };
  const fs::path rel(ref.file);
  if (rel.is_absolute()) {
    if (auto r = check(rel)) return std::move(*r);
  } else {
    if (!ref.base_dir.empty()) {
      if (auto r = check(fs::path(ref.base_dir) / rel)) return std::move(*r);
    }
    for (const std::string& dir : model_dirs_) {
      if (auto r = check(fs::path(dir) / rel)) return std::move(*r);
      // Also accept a flat directory holding just the file.
      if (rel.has_parent_path()) {
        if (auto r = check(fs::path(dir) / rel.filename())) return std::move(*r);
      }
    }
  }
  std::string message = "model file '" + ref.file + "' not found; looked in:";
  for (const std::string& t : tried) message += " " + t + ";";
  message += " give --model-dir DIR or set VISEARCH_MODEL_PATH";
  return Unexpected{ErrorCode::kModelMissing, message};
}

FileStatus ModelRepository::status(const FileRef& ref) const {
  FileStatus st;
  auto found = resolve(ref, false);
  if (!found) {
    st.message = "missing";
    return st;
  }
  st.present = true;
  st.path = found->path;
  if (ref.sha256.empty()) {
    st.checksum_ok = true;
    st.message = "present (no checksum in spec)";
    return st;
  }
  auto digest = sha256_file(found->path);
  st.checksum_ok = digest && *digest == ref.sha256;
  st.message = st.checksum_ok ? "ok" : "checksum mismatch";
  return st;
}

}  // namespace visearch
