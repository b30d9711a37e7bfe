#include "labeling/label_state.h"
#include "core/json_text.h"

#include <chrono>
#include <ctime>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "dataset/atomic_file.h"

namespace visearch::labeling {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::uint64_t kMaxStateBytes = std::uint64_t{256} << 20U;

std::string sidecar(const std::string& root) {
  return (fs::path(root) / kSidecarDir).string();
}

json proposal_to_json(const Proposal& p) {
  return json{{"class_id", p.box.class_id},
              {"label", p.detector_label},
              {"score", p.score},
              {"x1", p.box.x1},
              {"y1", p.box.y1},
              {"x2", p.box.x2},
              {"y2", p.box.y2}};
}

// A key as a relative path under .visearch/: ".." components and a leading '/' cannot leave the folder.
std::string sidecar_key(const std::string& key) {
  fs::path out;
  for (const fs::path& part : fs::path(key).relative_path()) {
    out /= part == ".." ? fs::path("_parent_") : part;
  }
  return out.generic_string();
}

}  // namespace

std::string state_file_path(const std::string& root) {
  return (fs::path(sidecar(root)) / "labels-state.json").string();
}

Result<ProjectState> load_state(const std::string& root) {
  const std::string path = state_file_path(root);
  std::error_code ec;
  if (!fs::exists(path, ec)) return ProjectState{};
  auto text = dataset::read_text_file(path, kMaxStateBytes);
  if (!text) return text.error();
  const json doc = json::parse(*text, nullptr, false);
  const auto malformed = [&path](const std::string& what) {
    return Error{ErrorCode::kInvalidArgument,
                 path + ": " + what + " (delete the file to start over; labels are not affected)"};
  };
  if (doc.is_discarded() || !doc.is_object()) return malformed("not a JSON object");
  ProjectState state;
  try {
    if (doc.contains("format")) state.format = doc.at("format").get<std::string>();
    if (doc.contains("classes")) state.classes = doc.at("classes").get<std::vector<std::string>>();
    if (doc.contains("images")) {
      for (const auto& [key, value] : doc.at("images").items()) {
        ImageState s;
        s.version = value.value("version", std::int64_t{1});
        s.saved_at = value.value("saved_at", std::string());
        if (value.contains("prelabel") && value.at("prelabel").is_object()) {
          const json& p = value.at("prelabel");
          s.prelabel_model = p.value("model", std::string());
          s.prelabelled_at = p.value("at", std::string());
          s.prelabel_count = p.value("count", std::size_t{0});
        }
        if (s.version < 1) return malformed("image '" + key + "' has a version below 1");
        state.images.emplace(key, std::move(s));
      }
    }
  } catch (const json::exception& e) {
    return malformed(std::string("unexpected content: ") + e.what());
  }
  return state;
}

Status save_state(const std::string& root, const ProjectState& state) {
  json images = json::object();
  for (const auto& [key, s] : state.images) {
    json entry{{"version", s.version}};
    if (!s.saved_at.empty()) entry["saved_at"] = s.saved_at;
    if (!s.prelabel_model.empty()) {
      entry["prelabel"] = {
          {"model", s.prelabel_model}, {"at", s.prelabelled_at}, {"count", s.prelabel_count}};
    }
    images[key] = std::move(entry);
  }
  const json doc{
      {"tool", "visearch label"}, {"format", state.format}, {"classes", state.classes}, {"images", images}};
  return dataset::write_file_atomic(state_file_path(root), to_json_text(doc, 1) + "\n");
}

std::string proposals_path(const std::string& root, const std::string& key) {
  return (fs::path(sidecar(root)) / "prelabels" / (sidecar_key(key) + ".json")).string();
}

std::optional<StoredProposals> load_proposals(const std::string& root, const std::string& key) {
  const std::string path = proposals_path(root, key);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  auto text = dataset::read_text_file(path, kMaxStateBytes);
  if (!text) return std::nullopt;
  const json doc = json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  StoredProposals out;
  try {
    out.model = doc.value("model", std::string());
    out.at = doc.value("at", std::string());
    for (const json& p : doc.at("proposals")) {
      Proposal proposal;
      proposal.box = LabelBox{p.at("class_id").get<int>(), p.at("x1").get<double>(), p.at("y1").get<double>(),
                              p.at("x2").get<double>(), p.at("y2").get<double>()};
      proposal.score = p.at("score").get<float>();
      proposal.detector_label = p.value("label", std::string());
      out.proposals.push_back(std::move(proposal));
    }
  } catch (const json::exception&) {
    return std::nullopt;
  }
  return out;
}

Status save_proposals(const std::string& root, const std::string& key, const StoredProposals& proposals) {
  json list = json::array();
  for (const Proposal& p : proposals.proposals) list.push_back(proposal_to_json(p));
  const json doc{{"model", proposals.model}, {"at", proposals.at}, {"proposals", list}};
  return dataset::write_file_atomic(proposals_path(root, key), to_json_text(doc) + "\n");
}

void remove_proposals(const std::string& root, const std::string& key) {
  std::error_code ec;
  fs::remove(proposals_path(root, key), ec);
}

std::string history_path(const std::string& root, const std::string& key, std::int64_t version,
                         const std::string& ext) {
  return (fs::path(sidecar(root)) / "history" /
          (sidecar_key(key) + ".v" + std::to_string(version) + ext + ".bak"))
      .string();
}

}  // namespace visearch::labeling
