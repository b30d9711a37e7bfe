#include "train/head.h"

namespace visearch::train {

Result<std::unique_ptr<DetectionHead>> make_head(const ModelSpec& base, const GraphNet& net) {
  if (base.family == "yolox") return make_yolox_head(base, net);
  if (base.family == "picodet") return make_picodet_head(base, net);
  return Unexpected{ErrorCode::kInvalidSpec,
                    "model '" + base.name + "' (family " + base.family +
                        ") cannot be fine-tuned; the trainable families are yolox (--base yolox_nano) and "
                        "picodet (--base picodet_s_416 or picodet_s_320)"};
}

}  // namespace visearch::train
