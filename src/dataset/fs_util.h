// Internal helpers for the data-set readers and writers: finding images and annotation files.
// Thread-safety: reentrant. Failure modes: file system errors are swallowed (a folder that cannot be
// listed yields no entries); callers report what they then fail to find.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "dataset/dataset.h"

namespace visearch::dataset::detail {

bool has_image_extension(const std::filesystem::path& path);
bool has_extension(const std::filesystem::path& path, std::string_view ext);  // case-insensitive, ".txt"

// Regular files under `dir` (recursively) accepted by `keep`, sorted by path.
std::vector<std::filesystem::path> list_files(const std::filesystem::path& dir, bool recursive,
                                              bool (*keep)(const std::filesystem::path&));

// First existing `dir / relative` among `dirs`; empty when none.
std::string find_in_dirs(const std::vector<std::filesystem::path>& dirs, const std::string& relative);

// An image in `dir` whose stem is `stem` (any supported extension); empty when none.
std::string find_image_by_stem(const std::filesystem::path& dir, const std::string& stem);

// Path of `path` relative to `base` when inside it, else `path` itself; generic ('/') form.
std::string relative_to(const std::filesystem::path& path, const std::filesystem::path& base);

// Places the image of `record` at `destination` as `mode` says; an error naming the file on failure.
Status place_image(const ImageRecord& record, const std::string& destination, ImageMode mode);

// Trims ASCII whitespace (and a trailing '\r').
std::string_view trim(std::string_view text);

// Parses a finite double / an integer in the whole of `text`.
bool parse_double(std::string_view text, double& out);
bool parse_int(std::string_view text, long long& out);

// Formats a double with at most `decimals` decimals, trailing zeros removed ("12.5", "174").
std::string format_number(double value, int decimals);

}  // namespace visearch::dataset::detail
