#include "families/picodet/picodet.h"

#include "families/common/gfl_head.h"

namespace visearch {

void register_picodet(FamilyRegistry& registry) {
  registry.add("picodet", [](const DecoderContext& ctx) -> Result<std::unique_ptr<Decoder>> {
    auto params = gfl_params_from_spec(ctx.spec, {8, 16, 32, 64}, AnchorRule::kCellCentre);
    if (!params) return params.error();
    return std::unique_ptr<Decoder>(std::make_unique<GflHeadDecoder>(std::move(*params)));
  });
}

}  // namespace visearch
