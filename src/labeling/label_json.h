// JSON views of the labelling service's values, as the HTTP API returns them (docs/labelling.md).
// Coordinates are upright-image pixels rounded to 0.001 px.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "labeling/label_project.h"
#include "labeling/prelabel_job.h"

namespace visearch::labeling {

// {"index", "class_id", "class", "x1", "y1", "x2", "y2"} plus the format attributes that are set
// ("difficult", "truncated", "occluded", "pose", "iscrowd").
nlohmann::json annotation_to_json(const dataset::Annotation& annotation, std::size_t index,
                                  const std::vector<std::string>& classes);
// {"index", "class_id", "class", "label" (detector's), "score", "x1", "y1", "x2", "y2"}
nlohmann::json proposal_to_json(const Proposal& proposal, std::size_t index,
                                const std::vector<std::string>& classes);
nlohmann::json summary_to_json(const ImageSummary& summary);
nlohmann::json detail_to_json(const ImageDetail& detail, const std::vector<std::string>& classes);
// {"images", "unlabelled", "pre_labelled", "reviewed", "boxes", "progress", "per_class": [{"class",
// "boxes"}]}
nlohmann::json counts_to_json(const ProjectCounts& counts, const std::vector<std::string>& classes);
nlohmann::json progress_to_json(const JobProgress& progress);

}  // namespace visearch::labeling
