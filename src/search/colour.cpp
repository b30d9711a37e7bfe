#include "search/colour.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

namespace visearch::search {
namespace {

constexpr std::array<std::string_view, kColourNames> kNames{
    "black", "white", "grey", "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown"};

enum Name : std::uint8_t {
  kBlack,
  kWhite,
  kGrey,
  kRed,
  kOrange,
  kYellow,
  kGreen,
  kBlue,
  kPurple,
  kPink,
  kBrown
};

// Prototype colours (sRGB) of each name: a name covers a region of colour space, so most have a light and
// a dark one besides the typical one (navy is "blue", beige and tan are "brown", maroon is "red").
struct Prototype {
  Name name;
  std::uint8_t r, g, b;
};
constexpr std::array<Prototype, 27> kPrototypes{{
    {kBlack, 18, 18, 18},    {kBlack, 40, 38, 42},    {kWhite, 248, 248, 246},  {kWhite, 225, 226, 222},
    {kGrey, 128, 128, 128},  {kGrey, 85, 86, 88},     {kGrey, 180, 180, 178},   {kRed, 205, 30, 35},
    {kRed, 130, 20, 28},     {kOrange, 240, 130, 30}, {kOrange, 250, 165, 85},  {kYellow, 245, 220, 50},
    {kYellow, 215, 190, 70}, {kGreen, 50, 150, 60},   {kGreen, 25, 80, 40},     {kGreen, 140, 200, 110},
    {kGreen, 110, 120, 50},  {kBlue, 40, 80, 190},    {kBlue, 25, 35, 90},      {kBlue, 120, 170, 225},
    {kBlue, 40, 140, 170},   {kPurple, 120, 50, 150}, {kPurple, 175, 140, 205}, {kPink, 240, 140, 170},
    {kPink, 215, 60, 140},   {kBrown, 120, 80, 45},   {kBrown, 200, 170, 130},
}};

// Soft assignment width in Lab units: a pixel half-way between two prototypes 20 units apart counts
// for both; one far closer to one prototype counts for it alone.
constexpr float kSigma = 10.F;
constexpr int kMaxSamplesPerSide = 48;
constexpr float kCentralShare = 0.6F;  // of the box's width and height

struct Lab {
  float l, a, b;
};

float srgb_to_linear(float c) {
  c /= 255.F;
  return c <= 0.04045F ? c / 12.92F : std::pow((c + 0.055F) / 1.055F, 2.4F);
}

float lab_f(float t) {
  constexpr float kDelta = 6.F / 29.F;
  return t > kDelta * kDelta * kDelta ? std::cbrt(t) : t / (3.F * kDelta * kDelta) + 4.F / 29.F;
}

// sRGB (D65) to CIELAB.
Lab to_lab(float r8, float g8, float b8) {
  const float r = srgb_to_linear(r8);
  const float g = srgb_to_linear(g8);
  const float b = srgb_to_linear(b8);
  const float x = (0.4124F * r + 0.3576F * g + 0.1805F * b) / 0.95047F;
  const float y = 0.2126F * r + 0.7152F * g + 0.0722F * b;
  const float z = (0.0193F * r + 0.1192F * g + 0.9505F * b) / 1.08883F;
  const float fx = lab_f(x);
  const float fy = lab_f(y);
  const float fz = lab_f(z);
  return Lab{116.F * fy - 16.F, 500.F * (fx - fy), 200.F * (fy - fz)};
}

const std::array<Lab, kPrototypes.size()>& prototype_labs() {
  static const std::array<Lab, kPrototypes.size()> labs = [] {
    std::array<Lab, kPrototypes.size()> out{};
    for (std::size_t i = 0; i < kPrototypes.size(); ++i)
      out[i] = to_lab(kPrototypes[i].r, kPrototypes[i].g, kPrototypes[i].b);
    return out;
  }();
  return labs;
}

// Adds one pixel's soft assignment (summing to 1) to `shares`.
void add_pixel(const std::uint8_t* p, std::array<double, kColourNames>& shares) {
  const Lab lab = to_lab(p[0], p[1], p[2]);
  const auto& protos = prototype_labs();
  std::array<float, kPrototypes.size()> d2{};
  float best = 1e30F;
  for (std::size_t i = 0; i < protos.size(); ++i) {
    const float dl = lab.l - protos[i].l;
    const float da = lab.a - protos[i].a;
    const float db = lab.b - protos[i].b;
    d2[i] = dl * dl + da * da + db * db;
    best = std::min(best, d2[i]);
  }
  std::array<double, kColourNames> w{};
  double total = 0;
  for (std::size_t i = 0; i < protos.size(); ++i) {
    const double v =
        std::exp(-static_cast<double>(d2[i] - best) / static_cast<double>(2.F * kSigma * kSigma));
    w[kPrototypes[i].name] = std::max(w[kPrototypes[i].name], v);
  }
  for (double v : w) total += v;
  for (std::size_t c = 0; c < kColourNames; ++c) shares[c] += w[c] / total;
}

ColourProfile normalised(const std::array<double, kColourNames>& shares) {
  double total = 0;
  for (double v : shares) total += v;
  ColourProfile out{};
  if (total <= 0) return out;
  for (std::size_t c = 0; c < kColourNames; ++c) out[c] = static_cast<float>(shares[c] / total);
  return out;
}

}  // namespace

std::span<const std::string_view> colour_names() {
  return kNames;
}

std::optional<std::size_t> colour_index(std::string_view word) {
  std::string w(word);
  std::transform(w.begin(), w.end(), w.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (w == kNames[i]) return i;
  static const std::map<std::string, std::size_t, std::less<>> kSynonyms{
      {"gray", kGrey},       {"silver", kGrey},     {"charcoal", kGrey},  {"anthracite", kGrey},
      {"ivory", kWhite},     {"cream", kWhite},     {"offwhite", kWhite}, {"maroon", kRed},
      {"burgundy", kRed},    {"crimson", kRed},     {"scarlet", kRed},    {"wine", kRed},
      {"coral", kOrange},    {"amber", kOrange},    {"gold", kYellow},    {"golden", kYellow},
      {"mustard", kYellow},  {"olive", kGreen},     {"khaki", kGreen},    {"mint", kGreen},
      {"lime", kGreen},      {"navy", kBlue},       {"teal", kBlue},      {"turquoise", kBlue},
      {"cyan", kBlue},       {"azure", kBlue},      {"denim", kBlue},     {"violet", kPurple},
      {"lilac", kPurple},    {"lavender", kPurple}, {"magenta", kPink},   {"fuchsia", kPink},
      {"rose", kPink},       {"beige", kBrown},     {"tan", kBrown},      {"camel", kBrown},
      {"chocolate", kBrown}, {"taupe", kBrown},     {"bronze", kBrown},
  };
  auto it = kSynonyms.find(w);
  if (it != kSynonyms.end()) return it->second;
  return std::nullopt;
}

ColourProfile colour_profile(const Image& image, const ImageBox& box) {
  std::array<double, kColourNames> shares{};
  if (image.empty()) return {};
  const float cx = (box.x1 + box.x2) / 2.F;
  const float cy = (box.y1 + box.y2) / 2.F;
  const float half_w = box.width() * kCentralShare / 2.F;
  const float half_h = (box.y2 - box.y1) * kCentralShare / 2.F;
  const int x1 = std::clamp(static_cast<int>(std::floor(cx - half_w)), 0, image.width);
  const int x2 = std::clamp(static_cast<int>(std::ceil(cx + half_w)), 0, image.width);
  const int y1 = std::clamp(static_cast<int>(std::floor(cy - half_h)), 0, image.height);
  const int y2 = std::clamp(static_cast<int>(std::ceil(cy + half_h)), 0, image.height);
  if (x2 <= x1 || y2 <= y1) return {};
  const int nx = std::min(x2 - x1, kMaxSamplesPerSide);
  const int ny = std::min(y2 - y1, kMaxSamplesPerSide);
  for (int j = 0; j < ny; ++j) {
    const int y = y1 + static_cast<int>((static_cast<std::int64_t>(j) * 2 + 1) * (y2 - y1) / (2 * ny));
    const std::uint8_t* row = image.row(y);
    for (int i = 0; i < nx; ++i) {
      const int x = x1 + static_cast<int>((static_cast<std::int64_t>(i) * 2 + 1) * (x2 - x1) / (2 * nx));
      add_pixel(row + static_cast<std::size_t>(x) * Image::kChannels, shares);
    }
  }
  return normalised(shares);
}

bool has_colour(const ColourProfile& profile) {
  return std::any_of(profile.begin(), profile.end(), [](float v) { return v > 0.F; });
}

std::size_t dominant_colour(const ColourProfile& profile) {
  return static_cast<std::size_t>(std::max_element(profile.begin(), profile.end()) - profile.begin());
}

double colour_similarity(const ColourProfile& a, const ColourProfile& b) {
  double sum = 0;
  for (std::size_t c = 0; c < kColourNames; ++c) sum += static_cast<double>(std::min(a[c], b[c]));
  return std::clamp(sum, 0.0, 1.0);
}

std::uint16_t declared_colours(const std::map<std::string, std::string>& attributes) {
  std::uint16_t mask = 0;
  for (const auto& [key, value] : attributes) {
    std::string k = key;
    std::transform(k.begin(), k.end(), k.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (k != "color" && k != "colour") continue;
    std::size_t i = 0;
    while (i < value.size()) {  // words: runs of letters ("navy blue/white" -> navy, blue, white)
      while (i < value.size() && std::isalpha(static_cast<unsigned char>(value[i])) == 0) ++i;
      std::size_t j = i;
      while (j < value.size() && std::isalpha(static_cast<unsigned char>(value[j])) != 0) ++j;
      if (j > i) {
        if (auto c = colour_index(std::string_view(value).substr(i, j - i)))
          mask |= static_cast<std::uint16_t>(1U << *c);
      }
      i = j;
    }
  }
  return mask;
}

std::optional<double> declared_colour_match(const ColourProfile& query, std::uint16_t declared) {
  if (declared == 0 || !has_colour(query)) return std::nullopt;
  const float top = query[dominant_colour(query)];
  float best = 0.F;
  for (std::size_t c = 0; c < kColourNames; ++c)
    if ((declared & (1U << c)) != 0) best = std::max(best, query[c]);
  return std::clamp(static_cast<double>(best / top), 0.0, 1.0);
}

std::optional<ColourProfile> colour_from_json(const nlohmann::json& value) {
  if (!value.is_array() || value.size() != kColourNames) return std::nullopt;
  ColourProfile out{};
  for (std::size_t c = 0; c < kColourNames; ++c) {
    if (!value[c].is_number()) return std::nullopt;
    out[c] = static_cast<float>(std::clamp(value[c].get<double>(), 0.0, 1.0));
  }
  return out;
}

std::vector<std::uint8_t> colour_bytes(const ColourProfile& profile) {
  std::vector<std::uint8_t> out(kColourNames * sizeof(float));
  static_assert(sizeof(float) == 4);
  for (std::size_t c = 0; c < kColourNames; ++c) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &profile[c], sizeof bits);
    for (std::size_t k = 0; k < 4; ++k) out[c * 4 + k] = static_cast<std::uint8_t>(bits >> (8U * k));
  }
  return out;
}

std::optional<ColourProfile> colour_from_bytes(std::span<const std::uint8_t> bytes) {
  if (bytes.size() != kColourNames * sizeof(float)) return std::nullopt;
  ColourProfile out{};
  for (std::size_t c = 0; c < kColourNames; ++c) {
    std::uint32_t bits = 0;
    for (std::size_t k = 0; k < 4; ++k) bits |= static_cast<std::uint32_t>(bytes[c * 4 + k]) << (8U * k);
    float v = 0.F;
    std::memcpy(&v, &bits, sizeof v);
    if (!std::isfinite(v) || v < 0.F || v > 1.F) return std::nullopt;
    out[c] = v;
  }
  return out;
}

}  // namespace visearch::search
