#include "families/all_families.h"

#include "families/fastestdet/fastestdet.h"
#include "families/nanodet/nanodet.h"
#include "families/picodet/picodet.h"
#include "families/ssd/ssd.h"
#include "families/yolov5/yolov5.h"
#include "families/yolov8/yolov8.h"
#include "families/yolox/yolox.h"

namespace visearch {

void register_all_families(FamilyRegistry& registry) {
  register_fastestdet(registry);
  register_nanodet(registry);
  register_picodet(registry);
  register_ssd(registry);
  register_yolov5(registry);
  register_yolov8(registry);
  register_yolox(registry);
}

}  // namespace visearch
