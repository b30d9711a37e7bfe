#include "dataset/convert.h"

#include <filesystem>

#include "dataset/coco.h"
#include "dataset/voc.h"
#include "dataset/yolo.h"

namespace visearch::dataset {

namespace fs = std::filesystem;

Result<WriteReport> write_dataset(const Dataset& dataset, const std::string& out_dir, DatasetFormat format,
                                  const WriteOptions& options) {
  switch (format) {
    case DatasetFormat::kYolo:
      return write_yolo(dataset, out_dir, options);
    case DatasetFormat::kCoco:
      return write_coco(dataset, out_dir, options);
    case DatasetFormat::kVoc:
      return write_voc(dataset, out_dir, options);
    case DatasetFormat::kAuto:
      break;
  }
  return Unexpected{ErrorCode::kInvalidArgument, "the target format must be yolo, coco or voc"};
}

Result<ConvertResult> convert_dataset(const std::string& source, const std::string& destination,
                                      const ConvertOptions& options) {
  std::error_code ec;
  const fs::path src = fs::weakly_canonical(source, ec);
  const fs::path dst = fs::weakly_canonical(destination, ec);
  const fs::path src_dir = fs::is_directory(src, ec) ? src : src.parent_path();
  if (!ec && (dst == src_dir || dst == src)) {
    return Unexpected{ErrorCode::kInvalidArgument,
                      "the destination must not be the source folder: " + destination};
  }
  auto dataset = load_dataset(source, options.load);
  if (!dataset) return dataset.error();
  ConvertResult result;
  result.from = dataset->format;
  result.images_read = dataset->images.size();
  for (const ImageRecord& image : dataset->images) result.annotations_read += image.annotations.size();
  result.read_diagnostics = dataset->diagnostics;
  const std::size_t errors = count_errors(dataset->diagnostics);
  if (options.strict && errors > 0) {
    const Diagnostic* first = nullptr;
    for (const Diagnostic& d : dataset->diagnostics) {
      if (d.severity == Severity::kError) {
        first = &d;
        break;
      }
    }
    return Unexpected{ErrorCode::kInvalidArgument,
                      std::to_string(errors) +
                          " error(s) in the source, nothing written (--strict); first: " +
                          (first != nullptr ? first->to_string() : std::string())};
  }
  auto report = write_dataset(*dataset, destination, options.to, options.write);
  if (!report) return report.error();
  result.write = std::move(*report);
  return result;
}

nlohmann::json to_json(const ConvertResult& result) {
  nlohmann::json lost = nlohmann::json::object();
  for (const auto& [what, count] : result.write.not_representable) lost[what] = count;
  nlohmann::json read = nlohmann::json::array();
  for (const Diagnostic& d : result.read_diagnostics) read.push_back(to_json(d));
  nlohmann::json write = nlohmann::json::array();
  for (const Diagnostic& d : result.write.diagnostics) write.push_back(to_json(d));
  return {{"from", format_name(result.from)},
          {"images_read", result.images_read},
          {"annotations_read", result.annotations_read},
          {"images_written", result.write.images_written},
          {"annotations_written", result.write.annotations_written},
          {"files_written", result.write.files_written},
          {"skipped_images", result.write.skipped_images},
          {"not_representable", std::move(lost)},
          {"read_diagnostics", std::move(read)},
          {"write_diagnostics", std::move(write)}};
}

}  // namespace visearch::dataset
