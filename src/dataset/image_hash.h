// Image fingerprints for duplicate detection: SHA-256 of the file bytes (exact duplicates) and a 64-bit
// difference hash of the decoded picture (near duplicates: re-encodes, resizes, small edits).
//
// dHash: the image is converted to grey, resized to 9x8 with area averaging, and bit (y*8+x) is set when
// pixel (x, y) is brighter than pixel (x+1, y). Two pictures are near duplicates when the Hamming
// distance of their hashes is small (<= 5 of 64 bits by default).
//
// Thread-safety: reentrant. Failure modes: the Result carries the decode/read error of the image.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/image.h"
#include "core/result.h"
#include "dataset/dataset.h"

namespace visearch::dataset {

std::uint64_t difference_hash(const Image& image);
int hamming_distance(std::uint64_t a, std::uint64_t b);

struct ImageFingerprint {
  bool ok = false;  // false: the image could not be read or decoded (see error)
  std::string error;
  std::string sha256;  // of the file bytes
  std::uint64_t dhash = 0;
  int width = 0;  // upright decoded size
  int height = 0;
};

// Reads, hashes and decodes one image file.
ImageFingerprint fingerprint_image(const std::string& path);

constexpr int kDefaultNearDuplicateDistance = 5;

// Groups of image indices that are exact (same bytes) or near (dHash distance <= max_distance, when
// max_distance >= 0) duplicates of each other, by union-find; singletons are omitted. Images whose
// fingerprint is not ok are never grouped.
struct DuplicateGroups {
  std::vector<std::vector<std::size_t>> exact;            // each group: same sha256
  std::vector<std::pair<std::size_t, std::size_t>> near;  // pairs with distance <= max, not exact
  std::vector<int> near_distance;                         // distance per near pair
  std::vector<std::size_t> component;  // per image: id of its duplicate component (exact + near)
};
DuplicateGroups find_duplicates(const std::vector<ImageFingerprint>& prints, int max_distance);

}  // namespace visearch::dataset
