// The labelling tool's sidecar files inside the data-set folder, under .visearch/:
//
//   .visearch/labels-state.json       {"format", "classes", "images": {"<key>": {"version", "saved_at",
//                                       "prelabel": {"model", "at", "count"}}}}
//   .visearch/prelabels/<key>.json    the pending detector proposals of one image
//   .visearch/history/<key>.v<N>.<ext>.bak   the labels an image had before save N+1 replaced them
//
// The ".bak" suffix and the JSON names keep these files out of every data-set reader (none lists them as
// labels or images). All files are written atomically (dataset::write_file_atomic).
//
// Failure modes: kInvalidArgument naming the file when labels-state.json is malformed (delete it to start
// over: versions restart, labels are not affected); kIo on read/write failures.
// Thread-safety: plain values and reentrant functions; LabelProject serialises access.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/background.h"  // utc_now() for saved_at
#include "core/result.h"
#include "labeling/label_types.h"

namespace visearch::labeling {

inline constexpr const char* kSidecarDir = ".visearch";

struct ImageState {
  std::int64_t version = 1;
  std::string saved_at;        // ISO 8601 of the last save in the tool; "" = never saved here
  std::string prelabel_model;  // pending proposals from this model; "" = none pending
  std::string prelabelled_at;
  std::size_t prelabel_count = 0;
};

struct ProjectState {
  std::string format;  // "yolo", "coco", "voc"; "" = unknown
  std::vector<std::string> classes;
  std::map<std::string, ImageState> images;  // by image key
};

std::string state_file_path(const std::string& root);
// A missing file yields an empty state.
Result<ProjectState> load_state(const std::string& root);
Status save_state(const std::string& root, const ProjectState& state);

struct StoredProposals {
  std::string model;
  std::string at;
  std::vector<Proposal> proposals;
};

std::string proposals_path(const std::string& root, const std::string& key);
// nullopt when the image has no proposal file (or it cannot be read: proposals are disposable).
std::optional<StoredProposals> load_proposals(const std::string& root, const std::string& key);
Status save_proposals(const std::string& root, const std::string& key, const StoredProposals& proposals);
void remove_proposals(const std::string& root, const std::string& key);

// .visearch/history/<key>.v<version><ext>.bak; `ext` like ".txt".
std::string history_path(const std::string& root, const std::string& key, std::int64_t version,
                         const std::string& ext);

}  // namespace visearch::labeling
