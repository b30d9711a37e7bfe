// LabelProject: the transport-free labelling service over one data-set folder (YOLO, COCO or Pascal VOC,
// or a folder of raw photos that becomes one). apps/server/label_module.cpp puts HTTP on it.
//
//   auto project = LabelProject::open({.path = "photos", .format = DatasetFormat::kYolo,
//                                      .classes = {"bottle", "mug"}});
//   auto detail = (*project)->image(id);                       // boxes, proposals, version
//   auto saved = (*project)->save(id, payload_json_text);      // conflict / validation / stored boxes
//
// Images: every image the data-set reader finds, plus images in the usual image folders that no
// annotation lists yet (a new photo dropped into images/). Each has a key (its path relative to the root;
// "../../images/x.jpg" for a VOC annotation folder whose images sit elsewhere), a stable id (a hash of the
// key) and a status (label_types.h).
//
// Versions: each image's labels carry a version (persisted in .visearch/labels-state.json). A save names
// the version it started from; when another save came first the save is refused as a conflict (nothing
// written) and the current version is returned. A successful save increments the version.
//
// Saves: the payload is validated (box_payload.h) before anything is written; the previous labels of the
// image are copied to .visearch/history/ first, then the label file is replaced atomically through the
// data-set tools (label_store.h), and pending proposals of the image are dropped. The reply holds the boxes
// exactly as the file now stores them.
//
// Failure modes: open() fails with kNotFound (no such folder), kInvalidArgument (unreadable annotations of
// an existing data set, classes that disagree with the data set's, no classes for a new data set, a
// malformed state file). Per-image calls fail with kNotFound (unknown id), kInvalidArgument (bad payload),
// kIo (write failure: the old labels stay).
// Thread-safety: every method may be called concurrently; one mutex serialises state and file writes.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/geometry.h"
#include "core/result.h"
#include "dataset/dataset.h"
#include "labeling/box_payload.h"
#include "labeling/label_state.h"
#include "labeling/label_store.h"
#include "labeling/label_types.h"

namespace visearch::labeling {

struct ProjectOptions {
  std::string path;  // data-set folder (or its data.yaml / COCO .json)
  dataset::DatasetFormat format = dataset::DatasetFormat::kAuto;  // kAuto: detect (yolo for raw photos)
  std::vector<std::string> classes;           // --classes: must equal the data set's when it has some
  std::vector<std::string> fallback_classes;  // used when neither the data set nor `classes` names any
};

struct ImageSummary {
  std::string id;
  std::string key;
  std::string split;
  ImageStatus status = ImageStatus::kUnlabelled;
  std::int64_t version = 1;
  std::size_t boxes = 0;
  std::size_t proposals = 0;
  int width = 0;
  int height = 0;
  bool read_errors = false;
};

struct ImageDetail {
  ImageSummary summary;
  std::string label_file;  // relative to the root
  std::vector<dataset::Annotation> annotations;
  std::vector<Proposal> proposals;
  std::string proposals_model;
  std::string saved_at;
};

struct ProjectCounts {
  std::size_t images = 0;
  std::size_t unlabelled = 0;
  std::size_t pre_labelled = 0;
  std::size_t reviewed = 0;
  std::size_t boxes = 0;
  std::vector<std::size_t> per_class;
};

struct SaveOutcome {
  bool conflict = false;          // refused: the labels changed since payload.version
  std::int64_t version = 0;       // the current version (new one after a save)
  std::int64_t sent_version = 0;  // what the client sent
  ImageDetail detail;             // the image after the save (or as it is, on a conflict)
  std::string history_file;       // where the previous labels were kept ("" when there were none)
};

class LabelProject {
 public:
  static Result<std::unique_ptr<LabelProject>> open(const ProjectOptions& options);

  [[nodiscard]] const std::string& root() const { return layout_.root; }
  [[nodiscard]] dataset::DatasetFormat format() const { return layout_.format; }
  [[nodiscard]] const std::vector<std::string>& classes() const { return layout_.classes; }
  [[nodiscard]] bool created() const { return created_; }  // a new data set (no annotations existed)
  [[nodiscard]] const std::vector<std::string>& warnings() const { return warnings_; }

  [[nodiscard]] ProjectCounts counts() const;
  // All images in order, optionally only those with `status`.
  [[nodiscard]] std::vector<ImageSummary> list(std::optional<ImageStatus> status = std::nullopt) const;
  // Ids of images with status `status`, in list order.
  [[nodiscard]] std::vector<std::string> ids_with_status(ImageStatus status) const;

  // Full state of one image; measures its size by decoding it the first time.
  Result<ImageDetail> image(const std::string& id);
  // The image file (for serving / detection).
  [[nodiscard]] Result<std::string> image_path(const std::string& id) const;

  // Validates and saves; see the header comment.
  Result<SaveOutcome> save(const std::string& id, std::string_view payload_json);
  Result<SaveOutcome> save(const std::string& id, const SavePayload& payload);

  // Stores detector proposals for the image (replacing earlier ones). They stay until the image is saved.
  // With only_if_unlabelled, an image that was saved or pre-labelled meanwhile is left alone.
  Status set_proposals(const std::string& id, std::vector<Proposal> proposals, const std::string& model,
                       bool only_if_unlabelled = false);

  LabelProject(const LabelProject&) = delete;
  LabelProject& operator=(const LabelProject&) = delete;
  LabelProject(LabelProject&&) = delete;
  LabelProject& operator=(LabelProject&&) = delete;
  ~LabelProject() = default;

 private:
  LabelProject() = default;

  struct Entry {
    ImageEntry image;
    ImageState state;
    std::vector<Proposal> proposals;
  };

  Entry* find(const std::string& id);
  [[nodiscard]] const Entry* find(const std::string& id) const;
  [[nodiscard]] ImageStatus status_of(const Entry& entry) const;
  [[nodiscard]] ImageSummary summary_of(const Entry& entry) const;
  [[nodiscard]] ImageDetail detail_of(const Entry& entry) const;
  Status ensure_size(Entry& entry);
  Status persist_state();

  StoreLayout layout_;
  bool created_ = false;
  std::vector<std::string> warnings_;
  std::vector<Entry> entries_;
  ProjectState state_;
  mutable std::mutex mutex_;
};

// Stable id of an image key: 16 hex digits (FNV-1a 64).
std::string image_id_for(const std::string& key);

}  // namespace visearch::labeling
