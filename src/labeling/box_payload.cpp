#include "labeling/box_payload.h"
#include "core/json_text.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "dataset/dataset.h"
#include "dataset/fs_util.h"

namespace visearch::labeling {
namespace {

using nlohmann::json;

std::string number_text(double value) {
  return dataset::detail::format_number(value, 3);
}

// A short rendering of a JSON value for messages.
std::string shown(const json& value) {
  std::string text = to_json_text(value);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

Error invalid(std::string message) {
  return Error{ErrorCode::kInvalidArgument, std::move(message)};
}

Result<double> coordinate(const json& box, const char* name, const std::string& where) {
  const auto it = box.find(name);
  if (it == box.end()) return invalid(where + "." + name + " is missing");
  if (!it->is_number()) return invalid(where + "." + name + " must be a number, got " + shown(*it));
  const double value = it->get<double>();
  if (!std::isfinite(value)) return invalid(where + "." + name + " must be a finite number");
  return value;
}

Result<int> class_of(const json& box, const std::vector<std::string>& classes, const std::string& where) {
  const std::string range = "0.." + std::to_string(static_cast<long long>(classes.size()) - 1);
  std::optional<int> by_id;
  if (const auto it = box.find("class_id"); it != box.end()) {
    if (!it->is_number_integer()) {
      return invalid(where + ".class_id must be an integer class index (" + range + "), got " + shown(*it));
    }
    const std::int64_t id = it->get<std::int64_t>();
    if (id < 0 || id >= static_cast<std::int64_t>(classes.size())) {
      return invalid(where + ".class_id " + std::to_string(id) + " is out of range: the data set has " +
                     std::to_string(classes.size()) + " classes (" + range + ")");
    }
    by_id = static_cast<int>(id);
  }
  std::optional<int> by_name;
  if (const auto it = box.find("class"); it != box.end()) {
    if (!it->is_string()) return invalid(where + ".class must be a class name, got " + shown(*it));
    const std::string name = it->get<std::string>();
    const auto found = std::find(classes.begin(), classes.end(), name);
    if (found == classes.end())
      return invalid(where + ".class '" + name + "' is not a class of this data set");
    by_name = static_cast<int>(found - classes.begin());
  }
  // Both given: they must name the same class (a disagreement was saved as the id's class).
  if (by_id && by_name && *by_id != *by_name) {
    return invalid(where + ".class '" + classes[static_cast<std::size_t>(*by_name)] + "' and .class_id " +
                   std::to_string(*by_id) + " ('" + classes[static_cast<std::size_t>(*by_id)] +
                   "') disagree; give one of them");
  }
  if (by_id) return *by_id;
  if (by_name) return *by_name;
  return invalid(where + " has no class_id");
}

}  // namespace

Result<LabelBox> validate_box(const LabelBox& box, std::size_t num_classes, Size image,
                              const std::string& where) {
  if (box.class_id < 0 || static_cast<std::size_t>(box.class_id) >= num_classes) {
    return invalid(where + ".class_id " + std::to_string(box.class_id) + " is out of range (" +
                   std::to_string(num_classes) + " classes)");
  }
  for (double v : {box.x1, box.y1, box.x2, box.y2}) {
    if (!std::isfinite(v)) return invalid(where + " has a coordinate that is not a finite number");
  }
  if (box.x2 < box.x1) {
    return invalid(where + " has a negative width (x2 " + number_text(box.x2) + " < x1 " +
                   number_text(box.x1) + ")");
  }
  if (box.y2 < box.y1) {
    return invalid(where + " has a negative height (y2 " + number_text(box.y2) + " < y1 " +
                   number_text(box.y1) + ")");
  }
  if (image.width <= 0 || image.height <= 0) return invalid(where + ": the image size is unknown");
  const double tx = dataset::bounds_tolerance(image.width);
  const double ty = dataset::bounds_tolerance(image.height);
  const auto outside = [&](const char* name, double value, const char* side, int limit) {
    return invalid(where + "." + name + " = " + number_text(value) + " is outside the image (" + side + " " +
                   std::to_string(limit) + ")");
  };
  if (box.x1 < -tx) return outside("x1", box.x1, "width", image.width);
  if (box.y1 < -ty) return outside("y1", box.y1, "height", image.height);
  if (box.x2 > image.width + tx) return outside("x2", box.x2, "width", image.width);
  if (box.y2 > image.height + ty) return outside("y2", box.y2, "height", image.height);
  if (box.x1 > image.width + tx) return outside("x1", box.x1, "width", image.width);
  if (box.y1 > image.height + ty) return outside("y1", box.y1, "height", image.height);
  LabelBox clipped = box;
  clipped.x1 = std::clamp(box.x1, 0.0, static_cast<double>(image.width));
  clipped.x2 = std::clamp(box.x2, 0.0, static_cast<double>(image.width));
  clipped.y1 = std::clamp(box.y1, 0.0, static_cast<double>(image.height));
  clipped.y2 = std::clamp(box.y2, 0.0, static_cast<double>(image.height));
  if (clipped.width() < kMinBoxSide || clipped.height() < kMinBoxSide) {
    return invalid(where + " is too small (" + number_text(clipped.width()) + " x " +
                   number_text(clipped.height()) + " px inside the image; each side must be at least " +
                   number_text(kMinBoxSide) + " px)");
  }
  return clipped;
}

Result<SavePayload> parse_save_payload(const json& body, const std::vector<std::string>& classes, Size image,
                                       std::size_t stored_boxes) {
  if (!body.is_object()) return invalid(R"(the request body must be a JSON object {"version", "boxes"})");
  SavePayload out;
  const auto version = body.find("version");
  if (version == body.end()) {
    return invalid("version is missing: send the version you loaded (GET .../images/{id} returns it)");
  }
  if (!version->is_number_integer() || version->get<std::int64_t>() < 0) {
    return invalid("version must be a non-negative integer, got " + shown(*version));
  }
  out.version = version->get<std::int64_t>();
  const auto boxes = body.find("boxes");
  if (boxes == body.end()) return invalid("boxes is missing (send [] to save an image with no objects)");
  if (!boxes->is_array()) return invalid("boxes must be an array, got " + shown(*boxes));
  if (boxes->size() > kMaxBoxesPerImage) {
    return invalid("too many boxes: " + std::to_string(boxes->size()) + " (at most " +
                   std::to_string(kMaxBoxesPerImage) + " per image)");
  }
  if (classes.empty()) return invalid("the data set has no classes; start `visearch label` with --classes");
  for (std::size_t i = 0; i < boxes->size(); ++i) {
    const json& item = (*boxes)[i];
    const std::string where = "boxes[" + std::to_string(i) + "]";
    if (!item.is_object()) return invalid(where + " must be an object {class_id, x1, y1, x2, y2}");
    auto class_id = class_of(item, classes, where);
    if (!class_id) return class_id.error();
    LabelBox box;
    box.class_id = *class_id;
    double* fields[] = {&box.x1, &box.y1, &box.x2, &box.y2};
    const char* names[] = {"x1", "y1", "x2", "y2"};
    for (std::size_t f = 0; f < 4; ++f) {
      auto value = coordinate(item, names[f], where);
      if (!value) return value.error();
      *fields[f] = *value;
    }
    auto valid = validate_box(box, classes.size(), image, where);
    if (!valid) return valid.error();
    BoxEdit edit{*valid, -1};
    if (const auto ref = item.find("ref"); ref != item.end() && !ref->is_null()) {
      if (!ref->is_number_integer()) return invalid(where + ".ref must be an integer, got " + shown(*ref));
      const std::int64_t r = ref->get<std::int64_t>();
      if (r < -1 || r >= std::numeric_limits<int>::max() ||
          static_cast<std::uint64_t>(r + 1) > stored_boxes) {
        return invalid(where + ".ref " + std::to_string(r) + " names no stored box (the image has " +
                       std::to_string(stored_boxes) + ")");
      }
      edit.ref = static_cast<int>(r);
    }
    out.boxes.push_back(edit);
  }
  return out;
}

Result<SavePayload> parse_save_payload(std::string_view body, const std::vector<std::string>& classes,
                                       Size image, std::size_t stored_boxes) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) return invalid("the request body is not valid JSON");
  return parse_save_payload(doc, classes, image, stored_boxes);
}

}  // namespace visearch::labeling
