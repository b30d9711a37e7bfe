// EXIF orientation via libexif.
#include <array>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include <libexif/exif-data.h>
#include <libexif/exif-utils.h>

#include "io/decoders.h"

namespace visearch::io_detail {
namespace {

constexpr std::array<std::uint8_t, 6> kExifHeader = {'E', 'x', 'i', 'f', 0, 0};
// EXIF payloads we are willing to parse; JPEG APP1 caps at 64 KB, other containers are larger only
// when they carry a big thumbnail, which we do not need.
constexpr std::size_t kMaxExifBytes = 4u << 20;

struct ExifDataDeleter {
  void operator()(ExifData* data) const { exif_data_unref(data); }
};

}  // namespace

int exif_orientation_from_exif(std::span<const std::uint8_t> exif) {
  if (exif.size() < 8) return 1;
  if (exif.size() > kMaxExifBytes) exif = exif.first(kMaxExifBytes);
  // libexif expects the "Exif\0\0" prefix (or a JPEG stream); add it to a bare TIFF payload.
  std::vector<std::uint8_t> prefixed;
  if (std::memcmp(exif.data(), kExifHeader.data(), kExifHeader.size()) != 0) {
    const bool tiff = (exif[0] == 'I' && exif[1] == 'I') || (exif[0] == 'M' && exif[1] == 'M');
    if (!tiff) return 1;
    prefixed.reserve(kExifHeader.size() + exif.size());
    prefixed.insert(prefixed.end(), kExifHeader.begin(), kExifHeader.end());
    prefixed.insert(prefixed.end(), exif.begin(), exif.end());
    exif = prefixed;
  }

  std::unique_ptr<ExifData, ExifDataDeleter> data(exif_data_new());
  if (!data) return 1;
  // Parse only; do not "repair" the data (which adds and removes entries we never look at).
  exif_data_unset_option(data.get(), EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
  exif_data_load_data(data.get(), exif.data(), static_cast<unsigned int>(exif.size()));

  ExifContent* ifd0 = data->ifd[EXIF_IFD_0];
  if (ifd0 == nullptr) return 1;
  ExifEntry* entry = exif_content_get_entry(ifd0, EXIF_TAG_ORIENTATION);
  if (entry == nullptr || entry->data == nullptr || entry->components < 1) return 1;
  const ExifByteOrder order = exif_data_get_byte_order(data.get());
  int value = 0;
  if (entry->format == EXIF_FORMAT_SHORT && entry->size >= 2) {
    value = exif_get_short(entry->data, order);
  } else if (entry->format == EXIF_FORMAT_LONG && entry->size >= 4) {
    const ExifLong v = exif_get_long(entry->data, order);
    value = v <= 8 ? static_cast<int>(v) : 0;
  } else if (entry->format == EXIF_FORMAT_BYTE && entry->size >= 1) {
    value = entry->data[0];
  }
  return (value >= 1 && value <= 8) ? value : 1;
}

}  // namespace visearch::io_detail
