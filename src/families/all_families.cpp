#include "families/all_families.h"

#include "families/detr/detr.h"
#include "families/fastestdet/fastestdet.h"
#include "families/nanodet/nanodet.h"
#include "families/picodet/picodet.h"
#include "families/ssd/ssd.h"
#include "families/tf_od_api/tf_od_api.h"
#include "families/torchvision/torchvision.h"
#include "families/yolo_end2end/yolo_end2end.h"
#include "families/yolov5/yolov5.h"
#include "families/yolov8/yolov8.h"
#include "families/yolox/yolox.h"

namespace visearch {

void register_all_families(FamilyRegistry& registry) {
  register_detr(registry);
  register_fastestdet(registry);
  register_nanodet(registry);
  register_picodet(registry);
  register_ssd(registry);
  register_tf_od_api(registry);
  register_torchvision(registry);
  register_yolo_end2end(registry);
  register_yolov5(registry);
  register_yolov8(registry);
  register_yolox(registry);
}

const FamilyRegistry& shipped_families() {
  static const FamilyRegistry registry = [] {
    FamilyRegistry r;
    register_all_families(r);
    return r;
  }();
  return registry;
}

}  // namespace visearch
