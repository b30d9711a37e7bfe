// Annotated copies for people to look at: boxes, labels and scores drawn on the image.
#pragma once

#include "core/image.h"
#include "service/detect_service.h"

namespace visearch::cli {

Image draw_detections(const Image& image, const DetectResponse& response);

}  // namespace visearch::cli
