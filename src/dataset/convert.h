// Conversion between YOLO, COCO and Pascal VOC: read everything, report what cannot be read, write what
// can. Lossless wherever the target format allows; what it cannot hold (a difficult flag in YOLO, a
// crowd region in VOC, sub-pixel coordinates in VOC) is counted in WriteReport::not_representable.
//
// An image whose annotation file had an error is not written (listed in skipped_images), so the output
// never holds a silently shortened annotation; with `strict` any read error stops the conversion before
// anything is written. Every file is written atomically (atomic_file.h).
//
// Failure modes: the load errors of load_dataset(); kInvalidArgument when strict and the source has
// errors, or when the destination is the source folder. Thread-safety: reentrant.
#pragma once

#include <string>

#include "core/result.h"
#include "dataset/dataset.h"

namespace visearch::dataset {

Result<WriteReport> write_dataset(const Dataset& dataset, const std::string& out_dir, DatasetFormat format,
                                  const WriteOptions& options);

struct ConvertOptions {
  LoadOptions load;
  DatasetFormat to = DatasetFormat::kCoco;
  WriteOptions write;
  bool strict = false;
};

struct ConvertResult {
  DatasetFormat from = DatasetFormat::kAuto;
  std::size_t images_read = 0;
  std::size_t annotations_read = 0;
  Diagnostics read_diagnostics;
  WriteReport write;
};

Result<ConvertResult> convert_dataset(const std::string& source, const std::string& destination,
                                      const ConvertOptions& options);

nlohmann::json to_json(const ConvertResult& result);

}  // namespace visearch::dataset
