#include "cli/draw.h"

#include <algorithm>
#include <cstdio>
#include <opencv2/imgproc.hpp>

namespace visearch::cli {

Image draw_detections(const Image& image, const DetectResponse& response) {
  Image out = image;
  cv::Mat canvas(out.height, out.width, CV_8UC3, out.pixels.data());
  const int thickness = std::max(1, std::min(out.width, out.height) / 300);
  const double font_scale = std::max(0.4, std::min(out.width, out.height) / 1000.0);
  for (const Detection& d : response.detections) {
    // A stable colour per class (RGB image).
    const auto hue = static_cast<unsigned>(d.class_id) * 2654435761U;
    const cv::Scalar colour(60 + (hue & 0x7FU), 60 + ((hue >> 8U) & 0x7FU), 60 + ((hue >> 16U) & 0x7FU));
    const cv::Point p1(static_cast<int>(d.box.x1), static_cast<int>(d.box.y1));
    const cv::Point p2(static_cast<int>(d.box.x2), static_cast<int>(d.box.y2));
    cv::rectangle(canvas, p1, p2, colour, thickness);
    const std::string& label = response.spec->labels[static_cast<std::size_t>(d.class_id)];
    char text[128];
    std::snprintf(text, sizeof text, "%s %.2f", label.c_str(), static_cast<double>(d.score));
    int baseline = 0;
    const cv::Size text_size = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, font_scale, 1, &baseline);
    const int top = std::max(0, p1.y - text_size.height - baseline - 2);
    cv::rectangle(canvas, cv::Point(p1.x, top),
                  cv::Point(p1.x + text_size.width + 2, top + text_size.height + baseline + 2), colour,
                  cv::FILLED);
    cv::putText(canvas, text, cv::Point(p1.x + 1, top + text_size.height + 1), cv::FONT_HERSHEY_SIMPLEX,
                font_scale, cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
  }
  return out;
}

}  // namespace visearch::cli
