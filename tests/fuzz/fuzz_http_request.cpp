// libFuzzer target for the request handling visearch owns: choosing the body
// kind from the Content-Type, multipart field selection, the JSON/base64 body,
// parameter parsing and validation, and the KServe v2 request (JSON and the
// binary tensor extension). HTTP framing and multipart splitting are
// cpp-httplib's; the parts it would produce are synthesised here.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>

#include "service/image_request.h"
#include "service/kserve.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider fdp(data, size);
  static const char* const kTypes[] = {"image/jpeg",
                                       "application/json",
                                       "multipart/form-data; boundary=x",
                                       "application/octet-stream",
                                       "text/plain",
                                       "IMAGE/PNG ; q=1",
                                       ""};
  visearch::HttpInput input;
  input.content_type =
      fdp.ConsumeBool() ? std::string(fdp.PickValueInArray(kTypes)) : fdp.ConsumeRandomLengthString(64);
  const int params = fdp.ConsumeIntegralInRange(0, 6);
  static const char* const kNames[] = {"model",   "score_threshold", "iou_threshold", "max_detections",
                                       "classes", "agnostic_nms",    "box",           "category",
                                       "tile",    "tile_overlap"};
  for (int i = 0; i < params; ++i) {
    input.query.emplace(fdp.PickValueInArray(kNames), fdp.ConsumeRandomLengthString(32));
  }
  const int parts = fdp.ConsumeIntegralInRange(0, 4);
  for (int i = 0; i < parts; ++i) {
    visearch::FormPart part;
    part.name = fdp.ConsumeBool() ? std::string("image") : std::string(fdp.PickValueInArray(kNames));
    part.filename = fdp.ConsumeRandomLengthString(16);
    part.content = fdp.ConsumeRandomLengthString(256);
    input.parts.push_back(std::move(part));
  }
  const std::string body = fdp.ConsumeRemainingBytesAsString();
  input.body = body;
  (void)visearch::parse_image_request(input);

  // The same bytes as a KServe request, with and without a binary header split.
  (void)visearch::parse_kserve_request(body, std::nullopt);
  if (!body.empty()) (void)visearch::parse_kserve_request(body, body.size() / 2);
  (void)visearch::decode_base64(body);
  return 0;
}
