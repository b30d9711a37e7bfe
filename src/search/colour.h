// Colour: what colour an object is, as shoppers name it, and how well two objects (or an object and a
// product's declared colour) agree. A ranking component of visual search (ranking.h, "colour").
//
// An object's ColourProfile is the share of its pixels that each of the eleven basic colour names
// (black, white, grey, red, orange, yellow, green, blue, purple, pink, brown) describes. Pixels are read
// from the central region of the object's box (the middle 60 % of its width and height: the background
// a detector's box always holds is mostly outside it), converted to CIELAB and softly assigned to the
// names' prototype colours by their Lab distance, so a colour between two names counts for both.
//
//   two objects         colour_similarity(): histogram intersection of the profiles, in [0, 1]
//   object vs product   declared_colours() reads the product's "color"/"colour" attribute ("navy blue",
//                       "black/white", synonyms such as gray, navy, beige map to a basic name);
//                       declared_colour_match() is the query's share of its best declared colour,
//                       relative to the query's dominant colour's share, in [0, 1]
//
// Profiles are 11 floats; stored with each indexed object (catalog_store.h) and computed for each query
// object (object_analysis.h). Thread-safety: pure functions. Cost: at most 48 x 48 sampled pixels.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/geometry.h"
#include "core/image.h"

namespace visearch::search {

inline constexpr std::size_t kColourNames = 11;

// Shares per basic colour name (colour_names() order), summing to 1; all 0 when unknown (no pixels).
using ColourProfile = std::array<float, kColourNames>;

// The basic colour names, in profile order.
std::span<const std::string_view> colour_names();

// The profile index of a colour word (case-insensitive; basic names and common synonyms), or none.
std::optional<std::size_t> colour_index(std::string_view word);

// The profile of `box`'s central region in `image` (box clamped to the image; all 0 when empty).
ColourProfile colour_profile(const Image& image, const ImageBox& box);

// True when the profile describes pixels (not the all-zero unknown profile).
bool has_colour(const ColourProfile& profile);

// The index of the largest share (0 for an unknown profile).
std::size_t dominant_colour(const ColourProfile& profile);

// Histogram intersection of two profiles, in [0, 1]; 0 when either is unknown.
double colour_similarity(const ColourProfile& a, const ColourProfile& b);

// Bit i set: the product declares basic colour i in a "color" or "colour" attribute (any case).
std::uint16_t declared_colours(const std::map<std::string, std::string>& attributes);

// How well a query object's colours agree with a product's declared ones: the query's share of the best
// declared colour divided by its dominant colour's share, in [0, 1]; none when nothing is declared or the
// query profile is unknown.
std::optional<double> declared_colour_match(const ColourProfile& query, std::uint16_t declared);

// A profile written as JSON (an array of 11 numbers, values clamped to [0, 1]: the OpenSearch documents and
// the feedback log); none for anything else.
std::optional<ColourProfile> colour_from_json(const nlohmann::json& value);

// Serialised form for storage: 11 little-endian floats (44 bytes); from_bytes() rejects other sizes.
std::vector<std::uint8_t> colour_bytes(const ColourProfile& profile);
std::optional<ColourProfile> colour_from_bytes(std::span<const std::uint8_t> bytes);

}  // namespace visearch::search
