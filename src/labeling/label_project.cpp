#include "labeling/label_project.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "dataset/atomic_file.h"
#include "dataset/fs_util.h"

namespace visearch::labeling {
namespace {

namespace fs = std::filesystem;
using dataset::Annotation;
using dataset::DatasetFormat;

// Images under `dir`; recursive listings skip hidden folders (.visearch, .git).
std::vector<fs::path> list_images(const fs::path& dir, bool recursive) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  if (!recursive) return dataset::detail::list_files(dir, false, dataset::detail::has_image_extension);
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (it->is_directory(type_ec)) {
      if (!name.empty() && name.front() == '.') it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(type_ec) && dataset::detail::has_image_extension(it->path()))
      out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The key of an image: its path relative to the root, '/'-separated; images outside the root (a VOC
// annotation folder whose images sit in ../../images) keep their ".." components.
std::string key_for(const fs::path& path, const fs::path& root) {
  const fs::path rel = path.lexically_normal().lexically_relative(root.lexically_normal());
  return rel.empty() ? path.generic_string() : rel.generic_string();
}

// `path` relative to `base` ('/'-separated) when inside it; "" otherwise.
std::string inside(const fs::path& path, const fs::path& base) {
  const fs::path rel = path.lexically_normal().lexically_relative(base.lexically_normal());
  if (rel.empty() || *rel.begin() == ".." || rel.is_absolute()) return {};
  return rel.generic_string();
}

bool exists_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

bool exists_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

std::string history_ext(DatasetFormat format) {
  switch (format) {
    case DatasetFormat::kCoco:
      return ".json";
    case DatasetFormat::kVoc:
      return ".xml";
    case DatasetFormat::kYolo:
    case DatasetFormat::kAuto:
      break;
  }
  return ".txt";
}

bool same_box(const dataset::PixelBox& a, const LabelBox& b) {
  constexpr double kEps = 1e-6;
  return std::abs(a.x1 - b.x1) < kEps && std::abs(a.y1 - b.y1) < kEps && std::abs(a.x2 - b.x2) < kEps &&
         std::abs(a.y2 - b.y2) < kEps;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

}  // namespace

std::string image_id_for(const std::string& key) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : key) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash));
  return buf;
}

Result<std::unique_ptr<LabelProject>> LabelProject::open(const ProjectOptions& options) {
  std::error_code ec;
  const fs::path input = fs::absolute(fs::path(options.path), ec).lexically_normal();
  if (options.path.empty() || !fs::exists(input, ec)) {
    return Unexpected{ErrorCode::kNotFound, options.path + ": no such folder"};
  }
  fs::path root = fs::is_directory(input, ec) ? input : input.parent_path();
  if (!fs::is_directory(input, ec) && root.filename() == "annotations") root = root.parent_path();
  if (!root.has_filename() && root.has_parent_path() && root != root.root_path()) root = root.parent_path();

  auto project = std::unique_ptr<LabelProject>(new LabelProject());
  auto state = load_state(root.string());
  if (!state) return state.error();
  project->state_ = std::move(*state);

  // Format: --format, else what the folder's layout says, else what an earlier run chose, else YOLO.
  DatasetFormat format = options.format;
  auto detected = dataset::detect_format(input.string());
  if (format == DatasetFormat::kAuto && detected) format = *detected;
  if (format == DatasetFormat::kAuto && !project->state_.format.empty()) {
    if (auto f = dataset::parse_format(project->state_.format); f) format = *f;
  }
  if (format == DatasetFormat::kAuto) format = DatasetFormat::kYolo;

  dataset::Dataset ds;
  bool loaded = false;
  if (detected) {
    dataset::LoadOptions load;
    load.format = format;
    auto read = dataset::load_dataset(input.string(), load);
    if (!read) {
      std::string message = input.string() + ": cannot read the data set";
      if (*detected != format) {
        message += " (it looks like " + std::string(dataset::format_name(*detected)) + ", not " +
                   std::string(dataset::format_name(format)) + ")";
      }
      return Unexpected{read.error().code, message + ": " + read.error().message};
    }
    ds = std::move(*read);
    loaded = true;
  }
  project->created_ = !loaded;
  if (loaded) {
    const std::size_t errors = dataset::count_errors(ds.diagnostics);
    if (errors > 0) {
      project->warnings_.push_back(
          std::to_string(errors) +
          " problem(s) reading the annotations (run `visearch dataset check` for the list); "
          "the affected images show what could be read");
    }
  }

  // Classes.
  std::vector<std::string> classes = ds.classes;
  if (format == DatasetFormat::kVoc) {
    std::vector<std::string> order = !options.classes.empty() ? options.classes : project->state_.classes;
    for (const std::string& c : classes) {
      if (std::find(order.begin(), order.end(), c) == order.end()) order.push_back(c);
    }
    classes = order;
  } else if (!classes.empty() && !options.classes.empty() && options.classes != classes) {
    return Unexpected{ErrorCode::kInvalidArgument,
                      "--classes " + join(options.classes) + " differs from the data set's classes " +
                          join(classes) + " (--classes is for a new data set; leave it out)"};
  }
  if (classes.empty()) classes = !options.classes.empty() ? options.classes : project->state_.classes;
  if (classes.empty()) classes = options.fallback_classes;
  if (classes.empty()) {
    return Unexpected{ErrorCode::kInvalidArgument,
                      root.string() +
                          ": the data set names no classes; pass --classes a,b,c (or a --map file with "
                          "\"classes\")"};
  }
  std::set<std::string> unique(classes.begin(), classes.end());
  if (unique.size() != classes.size()) {
    return Unexpected{ErrorCode::kInvalidArgument, "the class list names a class twice: " + join(classes)};
  }

  StoreLayout& layout = project->layout_;
  layout.format = format;
  layout.root = root.string();
  layout.classes = classes;
  if (format == DatasetFormat::kYolo) {
    const bool has_yaml =
        !dataset::detail::list_files(root, false, [](const fs::path& p) {
           return dataset::detail::has_extension(p, ".yaml") || dataset::detail::has_extension(p, ".yml");
         }).empty();
    const bool has_list = has_yaml || exists_file(root / "classes.txt") || exists_file(root / "obj.names");
    if (!has_list && fs::is_directory(input, ec)) layout.class_file = (root / "classes.txt").string();
  } else if (format == DatasetFormat::kVoc) {
    layout.voc_devkit =
        exists_dir(root / "Annotations") || exists_dir(root / "JPEGImages") || exists_dir(root / "images");
    if (loaded && !exists_dir(root / "Annotations")) layout.voc_devkit = false;
    if (layout.voc_devkit && !exists_file(root / "classes.txt") && !exists_file(root / "labels.txt")) {
      layout.class_file = (root / "classes.txt").string();
    }
  }

  // Images found by the reader.
  std::set<std::string> seen;
  std::size_t missing = 0;
  std::map<std::string, std::string> coco_file_of_split;
  for (dataset::ImageRecord& record : ds.images) {
    if (record.path.empty()) {
      ++missing;
      continue;
    }
    const fs::path path = fs::absolute(fs::path(record.path), ec).lexically_normal();
    const std::string key = key_for(path, root);
    if (!seen.insert(path.string()).second) continue;
    Entry entry;
    entry.image.key = key;
    entry.image.path = path.string();
    entry.image.split = record.split;
    entry.image.width = record.width;
    entry.image.height = record.height;
    entry.image.size_checked = format == DatasetFormat::kYolo && record.width > 0;
    entry.image.annotations = std::move(record.annotations);
    entry.image.read_errors = record.has_errors;
    entry.image.coco_id = record.coco_id;
    entry.image.coco_file_name = record.file;
    if (format == DatasetFormat::kCoco) {
      entry.image.label_file = record.annotation_file;
      entry.image.has_labels = true;
      coco_file_of_split.emplace(record.split, record.annotation_file);
    } else {
      entry.image.has_labels = record.labelled;
      entry.image.label_file = record.labelled && !record.annotation_file.empty()
                                   ? record.annotation_file
                                   : default_label_file(layout, path.string(), "");
    }
    project->entries_.push_back(std::move(entry));
  }
  if (missing > 0) {
    project->warnings_.push_back(std::to_string(missing) +
                                 " image(s) named by the annotations were not found");
  }

  // Images no annotation lists yet.
  std::vector<std::pair<fs::path, bool>> scan;  // folder, recursive
  if (format == DatasetFormat::kYolo) {
    if (!loaded) scan.emplace_back(root, true);
  } else if (format == DatasetFormat::kVoc) {
    if (layout.voc_devkit) {
      scan.emplace_back(root / "JPEGImages", false);
      scan.emplace_back(root / "images", false);
    } else {
      scan.emplace_back(root, false);
    }
  } else {
    scan.emplace_back(root / "images", true);
    scan.emplace_back(root, false);
    for (const auto& [split, file] : coco_file_of_split) {
      if (!split.empty()) scan.emplace_back(root / split, true);
    }
  }
  const std::string default_coco = coco_file_of_split.empty()
                                       ? (root / "annotations" / "instances_default.json").string()
                                       : coco_file_of_split.begin()->second;
  for (const auto& [dir, recursive] : scan) {
    for (const fs::path& found : list_images(dir, recursive)) {
      const fs::path path = fs::absolute(found, ec).lexically_normal();
      const std::string key = key_for(path, root);
      if (!seen.insert(path.string()).second) continue;
      Entry entry;
      entry.image.key = key;
      entry.image.path = path.string();
      if (format == DatasetFormat::kCoco) {
        // The file name is relative to the folder the COCO reader looks in for that split.
        std::string split;
        std::string file_name = key;
        for (const auto& [s, file] : coco_file_of_split) {
          if (s.empty()) continue;
          for (const fs::path& base : {root / s, root / "images" / s}) {
            if (const std::string rel = inside(path, base); !rel.empty()) {
              split = s;
              file_name = rel;
            }
          }
        }
        if (split.empty()) {
          if (const std::string rel = inside(path, root / "images"); !rel.empty()) file_name = rel;
        }
        entry.image.split = split;
        entry.image.coco_file_name = file_name;
        const auto it = coco_file_of_split.find(split);
        entry.image.label_file = it != coco_file_of_split.end() ? it->second : default_coco;
      } else {
        entry.image.label_file = default_label_file(layout, path.string(), "");
      }
      project->entries_.push_back(std::move(entry));
    }
  }
  std::sort(project->entries_.begin(), project->entries_.end(),
            [](const Entry& a, const Entry& b) { return a.image.key < b.image.key; });

  // Ids, versions and pending proposals.
  std::set<std::string> ids;
  for (Entry& entry : project->entries_) {
    std::string id = image_id_for(entry.image.key);
    for (int n = 2; !ids.insert(id).second; ++n) id = image_id_for(entry.image.key + "#" + std::to_string(n));
    entry.image.id = id;
    const auto it = project->state_.images.find(entry.image.key);
    if (it == project->state_.images.end()) continue;
    entry.state = it->second;
    if (!entry.state.prelabel_model.empty()) {
      auto stored = load_proposals(layout.root, entry.image.key);
      if (stored) {
        for (Proposal& p : stored->proposals) {
          if (p.box.class_id >= 0 && static_cast<std::size_t>(p.box.class_id) < classes.size()) {
            entry.proposals.push_back(std::move(p));
          }
        }
      } else {
        entry.state.prelabel_model.clear();
      }
    }
  }
  project->state_.format = std::string(dataset::format_name(format));
  project->state_.classes = classes;
  return project;
}

LabelProject::Entry* LabelProject::find(const std::string& id) {
  for (Entry& e : entries_) {
    if (e.image.id == id) return &e;
  }
  return nullptr;
}

const LabelProject::Entry* LabelProject::find(const std::string& id) const {
  for (const Entry& e : entries_) {
    if (e.image.id == id) return &e;
  }
  return nullptr;
}

ImageStatus LabelProject::status_of(const Entry& entry) const {
  if (entry.image.has_labels) return ImageStatus::kReviewed;
  if (!entry.state.prelabel_model.empty()) return ImageStatus::kPreLabelled;
  return ImageStatus::kUnlabelled;
}

ImageSummary LabelProject::summary_of(const Entry& entry) const {
  ImageSummary s;
  s.id = entry.image.id;
  s.key = entry.image.key;
  s.split = entry.image.split;
  s.status = status_of(entry);
  s.version = entry.state.version;
  s.boxes = entry.image.annotations.size();
  s.proposals = entry.proposals.size();
  s.width = entry.image.width;
  s.height = entry.image.height;
  s.read_errors = entry.image.read_errors;
  return s;
}

ImageDetail LabelProject::detail_of(const Entry& entry) const {
  ImageDetail d;
  d.summary = summary_of(entry);
  const std::string rel = inside(fs::path(entry.image.label_file), fs::path(layout_.root));
  d.label_file = rel.empty() ? entry.image.label_file : rel;
  d.annotations = entry.image.annotations;
  d.proposals = entry.proposals;
  d.proposals_model = entry.state.prelabel_model;
  d.saved_at = entry.state.saved_at;
  return d;
}

Status LabelProject::ensure_size(Entry& entry) {
  if (entry.image.size_checked) return ok_status();
  auto size = dataset::decode_image_size(entry.image.path);
  if (!size) return Error{size.error().code, entry.image.key + ": " + size.error().message};
  entry.image.width = size->width;
  entry.image.height = size->height;
  entry.image.size_checked = true;
  return ok_status();
}

Status LabelProject::persist_state() {
  return save_state(layout_.root, state_);
}

ProjectCounts LabelProject::counts() const {
  std::lock_guard lock(mutex_);
  ProjectCounts c;
  c.per_class.assign(layout_.classes.size(), 0);
  for (const Entry& e : entries_) {
    ++c.images;
    switch (status_of(e)) {
      case ImageStatus::kUnlabelled:
        ++c.unlabelled;
        break;
      case ImageStatus::kPreLabelled:
        ++c.pre_labelled;
        break;
      case ImageStatus::kReviewed:
        ++c.reviewed;
        break;
    }
    for (const Annotation& a : e.image.annotations) {
      if (a.class_id >= 0 && static_cast<std::size_t>(a.class_id) < c.per_class.size()) {
        ++c.per_class[static_cast<std::size_t>(a.class_id)];
        ++c.boxes;
      }
    }
  }
  return c;
}

std::vector<ImageSummary> LabelProject::list(std::optional<ImageStatus> status) const {
  std::lock_guard lock(mutex_);
  std::vector<ImageSummary> out;
  for (const Entry& e : entries_) {
    if (!status || status_of(e) == *status) out.push_back(summary_of(e));
  }
  return out;
}

std::vector<std::string> LabelProject::ids_with_status(ImageStatus status) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const Entry& e : entries_) {
    if (status_of(e) == status) out.push_back(e.image.id);
  }
  return out;
}

Result<ImageDetail> LabelProject::image(const std::string& id) {
  std::lock_guard lock(mutex_);
  Entry* entry = find(id);
  if (entry == nullptr) return Unexpected{ErrorCode::kNotFound, "no image with id '" + id + "'"};
  VISEARCH_TRY(ensure_size(*entry));
  return detail_of(*entry);
}

Result<std::string> LabelProject::image_path(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const Entry* entry = find(id);
  if (entry == nullptr) return Unexpected{ErrorCode::kNotFound, "no image with id '" + id + "'"};
  return entry->image.path;
}

Result<SaveOutcome> LabelProject::save(const std::string& id, std::string_view payload_json) {
  SavePayload payload;
  {
    std::lock_guard lock(mutex_);
    Entry* entry = find(id);
    if (entry == nullptr) return Unexpected{ErrorCode::kNotFound, "no image with id '" + id + "'"};
    VISEARCH_TRY(ensure_size(*entry));
    // `ref` is bounded in save(), after the version check: a stale client's refs name an older list.
    auto parsed =
        parse_save_payload(payload_json, layout_.classes, Size{entry->image.width, entry->image.height},
                           std::numeric_limits<std::size_t>::max());
    if (!parsed) return parsed.error();
    payload = std::move(*parsed);
  }
  return save(id, payload);
}

Result<SaveOutcome> LabelProject::save(const std::string& id, const SavePayload& payload) {
  std::lock_guard lock(mutex_);
  Entry* entry = find(id);
  if (entry == nullptr) return Unexpected{ErrorCode::kNotFound, "no image with id '" + id + "'"};
  VISEARCH_TRY(ensure_size(*entry));
  const Size size{entry->image.width, entry->image.height};
  // Re-validate: a payload may come from elsewhere than parse_save_payload.
  for (std::size_t i = 0; i < payload.boxes.size(); ++i) {
    const BoxEdit& edit = payload.boxes[i];
    auto valid = validate_box(edit.box, layout_.classes.size(), size, "boxes[" + std::to_string(i) + "]");
    if (!valid) return valid.error();
  }
  SaveOutcome outcome;
  outcome.sent_version = payload.version;
  if (payload.version != entry->state.version) {
    outcome.conflict = true;
    outcome.version = entry->state.version;
    outcome.detail = detail_of(*entry);
    return outcome;
  }
  for (std::size_t i = 0; i < payload.boxes.size(); ++i) {
    if (payload.boxes[i].ref >= static_cast<int>(entry->image.annotations.size())) {
      return Unexpected{ErrorCode::kInvalidArgument,
                        "boxes[" + std::to_string(i) + "].ref " + std::to_string(payload.boxes[i].ref) +
                            " names no stored box (the image has " +
                            std::to_string(entry->image.annotations.size()) + ")"};
    }
  }
  std::vector<Annotation> annotations;
  std::set<int> refs_used;
  for (const BoxEdit& edit : payload.boxes) {
    const auto clipped = validate_box(edit.box, layout_.classes.size(), size, "box");
    Annotation a;
    if (edit.ref >= 0) {
      a = entry->image.annotations[static_cast<std::size_t>(edit.ref)];
      if (!refs_used.insert(edit.ref).second) a.coco_id.reset();
      if (!same_box(a.box, *clipped)) {
        a.segmentation = nullptr;
        a.area.reset();
      }
    }
    a.class_id = clipped->class_id;
    a.box = dataset::PixelBox{clipped->x1, clipped->y1, clipped->x2, clipped->y2};
    a.line = 0;
    annotations.push_back(std::move(a));
  }
  // Keep the previous labels before replacing them.
  auto previous = current_labels_text(layout_, entry->image);
  if (!previous) return previous.error();
  if (*previous) {
    outcome.history_file =
        history_path(layout_.root, entry->image.key, entry->state.version, history_ext(layout_.format));
    VISEARCH_TRY(dataset::write_file_atomic(outcome.history_file, **previous));
  }
  auto stored = write_labels(layout_, entry->image, annotations);
  if (!stored) return stored.error();
  entry->image.annotations = std::move(*stored);
  entry->image.has_labels = true;
  entry->image.read_errors = false;
  entry->state.version += 1;
  entry->state.saved_at = utc_now();
  entry->state.prelabel_model.clear();
  entry->state.prelabelled_at.clear();
  entry->state.prelabel_count = 0;
  entry->proposals.clear();
  remove_proposals(layout_.root, entry->image.key);
  state_.images[entry->image.key] = entry->state;
  if (auto persisted = persist_state(); !persisted) {
    std::fprintf(stderr, "visearch label: warning: %s\n", persisted.error().message.c_str());
  }
  outcome.version = entry->state.version;
  outcome.detail = detail_of(*entry);
  return outcome;
}

Status LabelProject::set_proposals(const std::string& id, std::vector<Proposal> proposals,
                                   const std::string& model, bool only_if_unlabelled) {
  std::lock_guard lock(mutex_);
  Entry* entry = find(id);
  if (entry == nullptr) return Unexpected{ErrorCode::kNotFound, "no image with id '" + id + "'"};
  if (only_if_unlabelled && status_of(*entry) != ImageStatus::kUnlabelled) return ok_status();
  for (const Proposal& p : proposals) {
    if (p.box.class_id < 0 || static_cast<std::size_t>(p.box.class_id) >= layout_.classes.size()) {
      return Unexpected{ErrorCode::kInvalidArgument, "proposal class id out of range"};
    }
  }
  StoredProposals stored{model, utc_now(), proposals};
  VISEARCH_TRY(save_proposals(layout_.root, entry->image.key, stored));
  entry->proposals = std::move(proposals);
  entry->state.prelabel_model = model;
  entry->state.prelabelled_at = stored.at;
  entry->state.prelabel_count = entry->proposals.size();
  state_.images[entry->image.key] = entry->state;
  return persist_state();
}

}  // namespace visearch::labeling
