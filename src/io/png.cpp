// PNG decoding via libpng.
//
// libpng reports errors with longjmp. To keep that safe in C++ every setjmp lives in a small
// function (png_phase_*) whose frame holds no object with a destructor, and the libpng callbacks
// that longjmp hold none either; all C++ objects (buffers, row pointers, the guard destroying the
// libpng structs) live in decode_png, which never calls setjmp and which a longjmp never crosses.
#include <algorithm>
#include <array>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <vector>

#include <png.h>

#include "io/decoders.h"

namespace visearch::io_detail {
namespace {

constexpr std::string_view kPng = "png";

// Trivially destructible state shared with the libpng callbacks.
struct PngReadState {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t pos;
  std::array<char, 200> error;
};

struct PngHeader {
  png_uint_32 width;
  png_uint_32 height;
  int channels;          // after transforms: 3 (RGB) or 4 (RGBA)
  std::size_t rowbytes;  // after transforms
};

void png_read_callback(png_structp png, png_bytep out, png_size_t length) {
  auto* state = static_cast<PngReadState*>(png_get_io_ptr(png));
  if (length > state->size - state->pos) png_error(png, "unexpected end of data (truncated file)");
  std::memcpy(out, state->data + state->pos, length);
  state->pos += length;
}

[[noreturn]] void png_error_callback(png_structp png, png_const_charp message) {
  auto* state = static_cast<PngReadState*>(png_get_error_ptr(png));
  std::snprintf(state->error.data(), state->error.size(), "%s",
                message != nullptr ? message : "libpng error");
  png_longjmp(png, 1);
}

void png_warning_callback(png_structp /*png*/, png_const_charp /*message*/) {}

// Chunks we never use; ignoring them skips their decompression and allocation.
constexpr std::array<png_byte, 40> kIgnoredChunks = {
    'i', 'C', 'C', 'P', '\0', 'i', 'T', 'X', 't', '\0', 't', 'E', 'X', 't', '\0', 'z', 'T', 'X', 't', '\0',
    's', 'P', 'L', 'T', '\0', 'h', 'I', 'S', 'T', '\0', 'p', 'C', 'A', 'L', '\0', 's', 'C', 'A', 'L', '\0',
};

// Phase 1: reads the header chunks and sets up the transforms to 8-bit RGB or RGBA.
bool png_phase_read_info(png_structp png, png_infop info, png_uint_32 max_side, PngHeader* header) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_user_limits(png, max_side, max_side);
  png_set_chunk_malloc_max(png, 8U << 20);
  png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, nullptr, 0);
  png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, kIgnoredChunks.data(),
                              static_cast<int>(kIgnoredChunks.size() / 5));
  png_read_info(png, info);
  const png_byte color_type = png_get_color_type(png, info);
  const png_byte bit_depth = png_get_bit_depth(png, info);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS) != 0) png_set_tRNS_to_alpha(png);
  if (bit_depth == 16) png_set_scale_16(png);
  if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  header->width = png_get_image_width(png, info);
  header->height = png_get_image_height(png, info);
  header->channels = png_get_channels(png, info);
  header->rowbytes = png_get_rowbytes(png, info);
  return true;
}

// Phase 2: decodes every row into caller-allocated memory.
bool png_phase_read_image(png_structp png, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  return true;
}

// Phase 3: reads the chunks after the image data (an eXIf chunk may follow IDAT).
bool png_phase_read_end(png_structp png, png_infop info) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_end(png, info);
  return true;
}

// Destroys the libpng structs on every path out of decode_png.
struct PngReadGuard {
  png_structp png = nullptr;
  png_infop info = nullptr;
  PngReadGuard() = default;
  PngReadGuard(const PngReadGuard&) = delete;
  PngReadGuard& operator=(const PngReadGuard&) = delete;
  PngReadGuard(PngReadGuard&&) = delete;
  PngReadGuard& operator=(PngReadGuard&&) = delete;
  ~PngReadGuard() {
    if (png != nullptr) png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr);
  }
};

std::uint32_t read_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

Result<RawDecode> decode_png(std::span<const std::uint8_t> bytes, const DecodeLimits& limits) {
  // Check the IHDR dimensions ourselves first: the IHDR chunk must come first, at a fixed offset.
  if (bytes.size() >= 24 && std::memcmp(bytes.data() + 12, "IHDR", 4) == 0) {
    VISEARCH_TRY(check_pixel_limit(kPng, read_be32(bytes.data() + 16), read_be32(bytes.data() + 20), limits));
  }

  PngReadState state{bytes.data(), bytes.size(), 0, {}};
  PngReadGuard guard;
  guard.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, png_error_callback, png_warning_callback);
  if (guard.png == nullptr) return Unexpected{ErrorCode::kInternal, "cannot initialise the PNG decoder"};
  guard.info = png_create_info_struct(guard.png);
  if (guard.info == nullptr) return Unexpected{ErrorCode::kInternal, "cannot initialise the PNG decoder"};
  png_set_read_fn(guard.png, &state, png_read_callback);

  // Any single side above the pixel limit is over it whatever the other side (at least 1) is.
  const std::uint64_t limit = std::min(limits.max_pixels, kAbsoluteMaxPixels);
  const auto max_side =
      static_cast<png_uint_32>(std::min<std::uint64_t>(std::max<std::uint64_t>(limit, 1), PNG_UINT_31_MAX));
  PngHeader header{};
  if (!png_phase_read_info(guard.png, guard.info, max_side, &header))
    return corrupt(kPng, state.error.data());
  VISEARCH_TRY(check_pixel_limit(kPng, header.width, header.height, limits));
  if ((header.channels != 3 && header.channels != 4) ||
      header.rowbytes != static_cast<std::size_t>(header.width) * static_cast<std::size_t>(header.channels)) {
    return corrupt(kPng, "unexpected pixel layout after conversion");
  }

  const auto width = static_cast<int>(header.width);
  const auto height = static_cast<int>(header.height);
  RawDecode out;
  out.stored = Image::allocate(width, height);
  std::vector<std::uint8_t> rgba;
  std::uint8_t* target = out.stored.pixels.data();
  if (header.channels == 4) {
    rgba.resize(header.rowbytes * header.height);
    target = rgba.data();
  }
  std::vector<png_bytep> rows(header.height);
  for (png_uint_32 y = 0; y < header.height; ++y) rows[y] = target + header.rowbytes * y;
  if (!png_phase_read_image(guard.png, rows.data())) return corrupt(kPng, state.error.data());
  // The image is complete; a damaged tail only costs us a late eXIf chunk.
  (void)png_phase_read_end(guard.png, guard.info);

  if (header.channels == 4) {
    composite_rgba_over_white(rgba.data(), static_cast<std::size_t>(width) * header.height,
                              out.stored.pixels.data());
  }
  png_uint_32 exif_size = 0;
  png_bytep exif = nullptr;
  if (png_get_eXIf_1(guard.png, guard.info, &exif_size, &exif) != 0 && exif != nullptr) {
    out.exif_orientation = exif_orientation_from_exif({exif, exif_size});
  }
  return out;
}

}  // namespace visearch::io_detail
