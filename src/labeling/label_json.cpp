#include "labeling/label_json.h"

#include <cmath>

namespace visearch::labeling {
namespace {

using nlohmann::json;

double coord(double v) {
  const double r = std::round(v * 1000.0) / 1000.0;
  return r == 0.0 ? 0.0 : r;
}

std::string class_name(int id, const std::vector<std::string>& classes) {
  if (id < 0 || static_cast<std::size_t>(id) >= classes.size()) return {};
  return classes[static_cast<std::size_t>(id)];
}

}  // namespace

json annotation_to_json(const dataset::Annotation& a, std::size_t index,
                        const std::vector<std::string>& classes) {
  json out{{"index", index},        {"class_id", a.class_id}, {"class", class_name(a.class_id, classes)},
           {"x1", coord(a.box.x1)}, {"y1", coord(a.box.y1)},  {"x2", coord(a.box.x2)},
           {"y2", coord(a.box.y2)}};
  if (a.difficult) out["difficult"] = *a.difficult;
  if (a.truncated) out["truncated"] = *a.truncated;
  if (a.occluded) out["occluded"] = *a.occluded;
  if (!a.pose.empty()) out["pose"] = a.pose;
  if (a.iscrowd) out["iscrowd"] = true;
  return out;
}

json proposal_to_json(const Proposal& p, std::size_t index, const std::vector<std::string>& classes) {
  return json{{"index", index},
              {"class_id", p.box.class_id},
              {"class", class_name(p.box.class_id, classes)},
              {"label", p.detector_label},
              {"score", std::round(static_cast<double>(p.score) * 10000.0) / 10000.0},
              {"x1", coord(p.box.x1)},
              {"y1", coord(p.box.y1)},
              {"x2", coord(p.box.x2)},
              {"y2", coord(p.box.y2)}};
}

json summary_to_json(const ImageSummary& s) {
  json out{{"id", s.id},
           {"file", s.key},
           {"split", s.split},
           {"status", std::string(status_name(s.status))},
           {"version", s.version},
           {"boxes", s.boxes},
           {"proposals", s.proposals}};
  if (s.width > 0) {
    out["width"] = s.width;
    out["height"] = s.height;
  }
  if (s.read_errors) out["read_errors"] = true;
  return out;
}

json detail_to_json(const ImageDetail& d, const std::vector<std::string>& classes) {
  json out = summary_to_json(d.summary);
  out["label_file"] = d.label_file;
  json boxes = json::array();
  for (std::size_t i = 0; i < d.annotations.size(); ++i)
    boxes.push_back(annotation_to_json(d.annotations[i], i, classes));
  out["labels"] = std::move(boxes);
  json proposals = json::array();
  for (std::size_t i = 0; i < d.proposals.size(); ++i)
    proposals.push_back(proposal_to_json(d.proposals[i], i, classes));
  out["proposals"] = std::move(proposals);
  out["proposals_model"] = d.proposals_model.empty() ? json(nullptr) : json(d.proposals_model);
  out["saved_at"] = d.saved_at.empty() ? json(nullptr) : json(d.saved_at);
  return out;
}

json counts_to_json(const ProjectCounts& c, const std::vector<std::string>& classes) {
  json per_class = json::array();
  for (std::size_t i = 0; i < classes.size(); ++i) {
    per_class.push_back(
        {{"class_id", i}, {"class", classes[i]}, {"boxes", i < c.per_class.size() ? c.per_class[i] : 0}});
  }
  return json{
      {"images", c.images},
      {"unlabelled", c.unlabelled},
      {"pre_labelled", c.pre_labelled},
      {"reviewed", c.reviewed},
      {"boxes", c.boxes},
      {"progress", c.images == 0 ? 0.0 : static_cast<double>(c.reviewed) / static_cast<double>(c.images)},
      {"per_class", std::move(per_class)}};
}

json progress_to_json(const JobProgress& p) {
  return json{{"state", p.state},
              {"model", p.model},
              {"total", p.total},
              {"done", p.done},
              {"failed", p.failed},
              {"proposals", p.proposals},
              {"started_at", p.started_at.empty() ? json(nullptr) : json(p.started_at)},
              {"finished_at", p.finished_at.empty() ? json(nullptr) : json(p.finished_at)},
              {"seconds", std::round(p.seconds * 1000.0) / 1000.0},
              {"error", p.error.empty() ? json(nullptr) : json(p.error)}};
}

}  // namespace visearch::labeling
