// libFuzzer target for the YOLO label parser, data.yaml and classes.txt: any input yields labels and
// diagnostics (never a crash, hang or sanitizer report); every accepted label is finite, in range and
// survives format -> parse unchanged in number.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dataset/yolo.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int num_classes = data[0] % 8 == 0 ? 0 : data[0] % 100;  // 0 disables the range check
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto parsed = visearch::dataset::parse_yolo_labels(text, "fuzz.txt", num_classes);
  for (const auto& label : parsed.labels) {
    if (!std::isfinite(label.cx) || !std::isfinite(label.cy) || !(label.w >= 0) || !(label.h >= 0))
      std::abort();
    if (label.class_id < 0 || (num_classes > 0 && label.class_id >= num_classes) || label.line <= 0)
      std::abort();
  }
  for (const auto& d : parsed.diagnostics) {
    if (d.line <= 0 || d.message.empty()) std::abort();
  }
  const auto again = visearch::dataset::parse_yolo_labels(
      visearch::dataset::format_yolo_labels(parsed.labels), "re.txt", num_classes);
  if (again.labels.size() != parsed.labels.size()) std::abort();
  (void)visearch::dataset::parse_class_names(text);
  auto yaml = visearch::dataset::parse_data_yaml(text, "fuzz.yaml", "/fuzz");
  if (!yaml && yaml.error().message.empty()) std::abort();
  return 0;
}
