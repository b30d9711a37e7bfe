#include "search/demo_catalog.h"
#include "core/json_text.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/image_decode.h"
#include "model/embedder.h"
#include "model/preprocess.h"
#include "search/colour.h"

namespace visearch::search {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unexpected{ErrorCode::kNotFound, "cannot read " + path};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// SplitMix64: a small, well-mixed deterministic generator (stable across platforms, unlike std:: dists).
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30U)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27U)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31U);
}

std::uint64_t hash_text(const std::string& text, std::uint64_t seed) {
  std::uint64_t h = mix(seed);
  for (char c : text) h = mix(h ^ static_cast<unsigned char>(c));
  return h;
}

// "grey tv stand" -> "Grey TV Stand": words capitalised, two-letter words (tv) upper-cased.
std::string capitalise_words(std::string text) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find_first_of(" -", start);
    if (end == std::string::npos) end = text.size();
    for (std::size_t i = start; i < end; ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (i == start || end - start <= 2) text[i] = static_cast<char>(std::toupper(c));
    }
    start = end + 1;
  }
  return text;
}

std::string slug(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else if (!out.empty() && out.back() != '-') {
      out.push_back('-');
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

struct PriceRange {
  double low;
  double high;
};

PriceRange price_range(const std::string& label) {
  static const std::map<std::string, PriceRange> ranges = {
      {"car", {8000, 45000}},        {"motorcycle", {2500, 16000}}, {"bus", {25, 180}},
      {"train", {60, 900}},          {"truck", {9000, 60000}},      {"boat", {400, 25000}},
      {"airplane", {40, 600}},       {"bicycle", {180, 2400}},      {"tv", {180, 2200}},
      {"laptop", {350, 2600}},       {"refrigerator", {450, 2800}}, {"oven", {300, 2200}},
      {"microwave", {70, 400}},      {"bed", {250, 2500}},          {"couch", {350, 3200}},
      {"dining table", {150, 1800}}, {"chair", {40, 650}},          {"bench", {90, 900}},
      {"suitcase", {60, 480}},       {"skis", {180, 900}},          {"snowboard", {160, 750}},
      {"surfboard", {220, 1100}},    {"toilet", {150, 900}},        {"sink", {90, 700}},
      {"person", {25, 240}},         {"horse", {60, 900}},          {"cell phone", {120, 1300}},
  };
  auto it = ranges.find(label);
  return it != ranges.end() ? it->second : PriceRange{4, 90};
}

constexpr std::array kBrands = {"Nordvik", "Aurora", "Kestrel",    "Lumen", "Bramble", "Solace",
                                "Vireo",   "Halden", "Copperleaf", "Orla",  "Tamsin",  "Greyfield"};
constexpr std::array kStyles = {"Classic", "Everyday", "Studio",    "Heritage",  "Urban",
                                "Compact", "Premium",  "Essential", "Signature", "Field"};

// What a crop of a label's object is sold as, when the label's own keywords would mislead: a photo of a whole
// person is an outfit, not a jacket; nobody sells a city bus for a few thousand euros, but a scale model
// looks just like the photo; a wild animal is a figurine (its category), a pet a plush toy. Each wording
// keeps a keyword of the label mapping, so label relevance (BM25 over titles) still finds it. Labels not
// listed use their single-word keywords.
struct ShownAs {
  std::vector<std::string> nouns;
  bool coloured = true;  // food named by its colour reads oddly ("Orange Orange", "Brown Pizza")
};

const std::map<std::string, ShownAs>& shown_as() {
  static const std::map<std::string, ShownAs> table = {
      {"person", {{"outfit", "casual outfit", "layered outfit"}}},
      {"bus", {{"scale model bus", "die-cast model coach"}}},
      {"train", {{"model train", "model locomotive"}}},
      {"airplane", {{"model airplane", "scale model aircraft", "model jet"}}},
      {"car", {{"car", "city car", "used car"}}},
      {"truck", {{"truck", "pickup truck", "lorry"}}},
      {"boat", {{"boat", "motor boat", "sailing boat"}}},
      {"bird", {{"bird figurine"}}},
      {"elephant", {{"elephant figurine"}}},
      {"bear", {{"bear figurine"}}},
      {"zebra", {{"zebra figurine"}}},
      {"giraffe", {{"giraffe figurine"}}},
      {"cow", {{"cow figurine", "cattle figurine"}}},
      {"sheep", {{"sheep figurine", "lamb figurine"}}},
      {"horse", {{"horse figurine", "pony figurine"}}},
      {"cat", {{"cat plush", "kitten plush"}}},
      {"dog", {{"dog plush", "puppy plush"}}},
      {"teddy bear", {{"teddy bear", "plush bear"}}},
      {"banana", {{"banana", "banana bunch"}, false}},
      {"apple", {{"apple", "eating apple"}, false}},
      {"orange", {{"orange", "navel orange"}, false}},
      {"broccoli", {{"broccoli"}, false}},
      {"carrot", {{"carrot", "carrot bunch"}, false}},
      {"sandwich", {{"sandwich", "panini"}, false}},
      {"hot dog", {{"hot dog"}, false}},
      {"pizza", {{"pizza"}, false}},
      {"donut", {{"donut", "doughnut"}, false}},
      {"cake", {{"cake", "pastry"}, false}},
  };
  return table;
}

// The noun phrase for a label: the table's wording, or one of the label's first three single-word keywords.
ShownAs shown_as(const std::string& label, const LabelTerms& terms) {
  auto it = shown_as().find(label);
  if (it != shown_as().end()) return it->second;
  ShownAs out;
  for (const std::string& k : terms.keywords) {
    if (k.find(' ') == std::string::npos && out.nouns.size() < 3) out.nouns.push_back(k);
  }
  if (out.nouns.empty() && !terms.keywords.empty()) out.nouns.push_back(terms.keywords.front());
  if (out.nouns.empty()) out.nouns.push_back(label);
  return out;
}

std::string pick_noun(const ShownAs& shown, std::uint64_t hash) {
  return shown.nouns[(hash >> 8U) % shown.nouns.size()];
}

// Within this many pixels of an image edge (1 % of that side, at least 2 px), a box is cut by the frame.
bool near_edge(float low, float high, int side) {
  const float slack = std::max(2.F, 0.01F * static_cast<float>(side));
  return low <= slack || high >= static_cast<float>(side) - slack;
}

}  // namespace

ImageBox demo_crop_box(const LabelledBox& box, const DemoOptions& options) {
  const float pad = options.margin * std::max(box.box.width(), box.box.height());
  ImageBox crop{box.box.x1 - pad, box.box.y1 - pad, box.box.x2 + pad, box.box.y2 + pad};
  if (box.image_size.width > 0 && box.image_size.height > 0) {
    crop = crop.clipped(static_cast<float>(box.image_size.width), static_cast<float>(box.image_size.height));
  }
  return crop;
}

DemoVerdict demo_verdict(const LabelledBox& box, const DemoOptions& options) {
  const ImageBox crop = demo_crop_box(box, options);
  const float long_side = std::max(crop.width(), crop.height());
  const float short_side = std::min(crop.width(), crop.height());
  if (long_side < static_cast<float>(options.min_photo_side)) return DemoVerdict::kTooSmall;
  if (short_side <= 0.F || long_side > options.max_photo_aspect * short_side) return DemoVerdict::kStrip;
  const Size image = box.image_size;
  if (image.width > 0 && image.height > 0) {
    const float w = box.box.width();
    const float h = box.box.height();
    if (near_edge(box.box.x1, box.box.x2, image.width) && h >= options.frame_strip_aspect * w) {
      return DemoVerdict::kStrip;
    }
    if (near_edge(box.box.y1, box.box.y2, image.height) && w >= options.frame_strip_aspect * h) {
      return DemoVerdict::kStrip;
    }
  }
  return DemoVerdict::kProduct;
}

std::string demo_title(const std::string& label, const LabelTerms& terms, const std::string& brand,
                       const std::string& style, const std::string& colour, std::uint64_t hash) {
  const ShownAs shown = shown_as(label, terms);
  std::string words = shown.coloured ? colour + " " : std::string();
  words.append(pick_noun(shown, hash));
  std::string title = brand;
  title.append(" ").append(style).append(" ").append(capitalise_words(words));
  return title;
}

std::string dominant_colour_name(const Image& crop) {
  const ImageBox all{0.F, 0.F, static_cast<float>(crop.width), static_cast<float>(crop.height)};
  return std::string(colour_names()[dominant_colour(colour_profile(crop, all))]);
}

Result<std::vector<LabelledBox>> read_yolo_boxes(const std::string& root, const std::string& dataset_name) {
  auto yaml = read_text((fs::path(root) / "data.yaml").string());
  if (!yaml) return yaml.error();
  std::map<int, std::string> names;
  {
    std::istringstream lines(*yaml);
    std::string line;
    bool in_names = false;
    while (std::getline(lines, line)) {
      if (line.rfind("names:", 0) == 0) {
        in_names = true;
        continue;
      }
      if (!in_names) continue;
      if (line.empty() || (line[0] != ' ' && line[0] != '\t')) break;
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t'\""));
      value.erase(value.find_last_not_of(" \t'\"\r") + 1);
      names[std::atoi(line.substr(0, colon).c_str())] = value;
    }
  }
  if (names.empty()) return Unexpected{ErrorCode::kInvalidArgument, root + "/data.yaml: no \"names:\" block"};
  std::vector<LabelledBox> boxes;
  const fs::path labels_dir = fs::path(root) / "labels" / "train2017";
  const fs::path images_dir = fs::path(root) / "images" / "train2017";
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(labels_dir, ec)) {
    if (entry.path().extension() == ".txt") files.push_back(entry.path());
  }
  if (ec) return Unexpected{ErrorCode::kNotFound, "cannot list " + labels_dir.string() + ": " + ec.message()};
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    const fs::path image = images_dir / (file.stem().string() + ".jpg");
    if (!fs::exists(image, ec)) continue;  // orphan label file
    auto bytes = read_file_bytes(image.string(), std::uint64_t{64} << 20U, FileKind::kRegularOnly);
    if (!bytes) continue;
    auto decoded = decode_image(*bytes, DecodeLimits{});
    if (!decoded) continue;
    const auto w = static_cast<float>(decoded->image.width);
    const auto h = static_cast<float>(decoded->image.height);
    auto text = read_text(file.string());
    if (!text) return text.error();
    std::istringstream lines(*text);
    std::string line;
    int line_number = 0;
    while (std::getline(lines, line)) {
      ++line_number;
      std::istringstream fields(line);
      int cls = -1;
      float cx = 0;
      float cy = 0;
      float bw = 0;
      float bh = 0;
      if (!(fields >> cls >> cx >> cy >> bw >> bh)) continue;
      auto name = names.find(cls);
      if (name == names.end()) {
        return Unexpected{ErrorCode::kInvalidArgument, file.string() + ":" + std::to_string(line_number) +
                                                           ": class " + std::to_string(cls) +
                                                           " not in data.yaml"};
      }
      boxes.push_back(
          LabelledBox{image.string(), dataset_name + "/" + image.filename().string(), name->second,
                      ImageBox{(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h},
                      Size{decoded->image.width, decoded->image.height}});
    }
  }
  return boxes;
}

namespace {
// Throws nlohmann::json::exception on malformed members; read_coco_boxes() turns that into an error.
std::vector<LabelledBox> coco_boxes(const json& doc, const std::string& images_dir,
                                    const std::string& dataset_name);
}  // namespace

Result<std::vector<LabelledBox>> read_coco_boxes(const std::string& annotations,
                                                 const std::string& images_dir,
                                                 const std::string& dataset_name) {
  auto text = read_text(annotations);
  if (!text) return text.error();
  const json doc = json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("annotations") || !doc.contains("images") ||
      !doc.contains("categories")) {
    return Unexpected{ErrorCode::kInvalidArgument, annotations + ": not a COCO instances file"};
  }
  try {
    return coco_boxes(doc, images_dir, dataset_name);
  } catch (const nlohmann::json::exception& e) {
    return Unexpected{ErrorCode::kInvalidArgument,
                      annotations + ": malformed COCO instances file: " + e.what()};
  }
}

namespace {

std::vector<LabelledBox> coco_boxes(const json& doc, const std::string& images_dir,
                                    const std::string& dataset_name) {
  std::map<long long, std::string> categories;
  for (const auto& c : doc["categories"]) categories[c.value("id", -1LL)] = c.value("name", std::string());
  struct ImageEntry {
    std::string file;
    Size size;
  };
  std::map<long long, ImageEntry> files;
  for (const auto& image : doc["images"]) {
    files[image.value("id", -1LL)] = ImageEntry{image.value("file_name", std::string()),
                                                Size{image.value("width", 0), image.value("height", 0)}};
  }
  std::vector<LabelledBox> boxes;
  for (const auto& a : doc["annotations"]) {
    if (a.value("iscrowd", 0) != 0) continue;
    const auto& bbox = a.at("bbox");
    if (!bbox.is_array() || bbox.size() != 4) continue;
    auto file = files.find(a.value("image_id", -1LL));
    auto category = categories.find(a.value("category_id", -1LL));
    if (file == files.end() || category == categories.end()) continue;
    const float x = bbox[0].get<float>();
    const float y = bbox[1].get<float>();
    boxes.push_back(LabelledBox{(fs::path(images_dir) / file->second.file).string(),
                                dataset_name + "/" + file->second.file, category->second,
                                ImageBox{x, y, x + bbox[2].get<float>(), y + bbox[3].get<float>()},
                                file->second.size});
  }
  std::stable_sort(boxes.begin(), boxes.end(),
                   [](const LabelledBox& a, const LabelledBox& b) { return a.image_path < b.image_path; });
  return boxes;
}

}  // namespace

Result<DemoReport> write_demo_catalog(const std::vector<LabelledBox>& boxes, const LabelMapping& mapping,
                                      const std::string& out_dir, const DemoOptions& options) {
  DemoReport report;
  std::error_code ec;
  fs::create_directories(fs::path(out_dir) / "images", ec);
  if (ec) return Unexpected{ErrorCode::kIo, "cannot create " + out_dir + ": " + ec.message()};

  // The largest objects of each label that make a product photo (demo_verdict) are the most product-like.
  std::map<std::string, std::vector<const LabelledBox*>> by_label;
  for (const LabelledBox& b : boxes) {
    if (b.box.width() < static_cast<float>(options.min_side) ||
        b.box.height() < static_cast<float>(options.min_side)) {
      continue;
    }
    switch (demo_verdict(b, options)) {
      case DemoVerdict::kProduct:
        by_label[b.label].push_back(&b);
        break;
      case DemoVerdict::kTooSmall:
        ++report.skipped_small;
        break;
      case DemoVerdict::kStrip:
        ++report.skipped_strips;
        break;
    }
  }
  std::vector<const LabelledBox*> chosen;
  for (auto& [label, list] : by_label) {
    std::stable_sort(list.begin(), list.end(), [](const LabelledBox* a, const LabelledBox* b) {
      return a->box.area() > b->box.area();
    });
    if (list.size() > static_cast<std::size_t>(options.max_per_label))
      list.resize(static_cast<std::size_t>(options.max_per_label));
    chosen.insert(chosen.end(), list.begin(), list.end());
  }
  std::stable_sort(chosen.begin(), chosen.end(),
                   [](const LabelledBox* a, const LabelledBox* b) { return a->image_path < b->image_path; });

  std::ofstream out(fs::path(out_dir) / "products.jsonl", std::ios::binary | std::ios::trunc);
  if (!out) return Unexpected{ErrorCode::kIo, "cannot write " + out_dir + "/products.jsonl"};
  std::map<std::string, int> counters;
  std::string current_path;
  Image current;
  bool current_ok = false;
  for (const LabelledBox* b : chosen) {
    if (b->image_path != current_path) {
      current_path = b->image_path;
      current_ok = false;
      auto bytes = read_file_bytes(current_path, std::uint64_t{64} << 20U, FileKind::kRegularOnly);
      if (bytes) {
        auto decoded = decode_image(*bytes, DecodeLimits{});
        if (decoded) {
          current = std::move(decoded->image);
          current_ok = true;
        }
      }
      if (!current_ok) ++report.skipped_images;
    }
    if (!current_ok) continue;
    auto crop = crop_image(current, demo_crop_box(*b, options));
    if (!crop) continue;
    Image photo = std::move(*crop);
    const int long_side = std::max(photo.width, photo.height);
    if (long_side > options.max_image_side) {
      const double s = static_cast<double>(options.max_image_side) / long_side;
      PreprocessSpec resize;
      resize.size = Size{std::max(1, static_cast<int>(std::lround(photo.width * s))),
                         std::max(1, static_cast<int>(std::lround(photo.height * s)))};
      resize.interpolation = Interpolation::kArea;
      photo = resize_for_input(photo, resize, nullptr);
    }
    auto jpeg = encode_jpeg(photo, options.jpeg_quality);
    if (!jpeg) return jpeg.error();

    const int number = ++counters[b->label];
    const std::string id = "demo-" + slug(b->label) + "-" +
                           (number < 10    ? "00"
                            : number < 100 ? "0"
                                           : "") +
                           std::to_string(number);
    const std::string file = "images/" + id + ".jpg";
    {
      std::ofstream image_out(fs::path(out_dir) / file, std::ios::binary | std::ios::trunc);
      // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): bytes as chars for the stream
      image_out.write(reinterpret_cast<const char*>(jpeg->data()),
                      static_cast<std::streamsize>(jpeg->size()));
      if (!image_out) {
        std::string message = "cannot write ";
        message.append(out_dir).append("/").append(file);
        return Unexpected{ErrorCode::kIo, std::move(message)};
      }
    }
    const std::uint64_t h = hash_text(id, options.seed);
    const LabelTerms terms = mapping.terms(b->label);
    const ShownAs shown = shown_as(b->label, terms);
    const std::string noun = pick_noun(shown, h);
    const std::string colour = dominant_colour_name(photo);
    const std::string brand = kBrands[h % kBrands.size()];
    const std::string style = kStyles[(h >> 16U) % kStyles.size()];
    const PriceRange range = price_range(b->label);
    const double unit = static_cast<double>((h >> 24U) % 10000) / 10000.0;
    const double price =
        std::floor(range.low + unit * (range.high - range.low)) + (range.high > 100 ? 0.0 : 0.99);
    const std::string category = mapping.primary_category(b->label);
    const std::string title = demo_title(b->label, terms, brand, style, colour, h);
    std::string named = shown.coloured ? colour + " " : std::string();
    named.append(noun);
    std::string description = std::string("aeiou").find(named.front()) != std::string::npos ? "An " : "A ";
    description.append(named).append(" from ").append(brand).append("'s ").append(style);
    description.append(" line. Demo product: an object cropped from the COCO image ").append(b->source);
    description.append(" (Flickr, Creative Commons; see the COCO terms of use).");
    json product{{"id", id},
                 {"title", title},
                 {"description", description},
                 {"category", category.empty() ? capitalise_words(b->label) : category},
                 {"brand", brand},
                 {"price", price},
                 {"currency", "EUR"},
                 {"attributes", {{"color", colour}, {"source", b->source}, {"object", b->label}}},
                 {"images", json::array({file})}};
    out << to_json_text(product) << '\n';
    ++report.products;
    ++report.per_label[b->label];
  }
  out.flush();
  if (!out) return Unexpected{ErrorCode::kIo, "cannot write " + out_dir + "/products.jsonl"};
  return report;
}

}  // namespace visearch::search
