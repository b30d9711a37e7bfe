#include "families/nanodet/nanodet.h"

#include "families/common/gfl_head.h"

namespace visearch {

void register_nanodet(FamilyRegistry& registry) {
  registry.add("nanodet", [](const DecoderContext& ctx) -> Result<std::unique_ptr<Decoder>> {
    auto params = gfl_params_from_spec(ctx.spec, {8, 16, 32}, AnchorRule::kLegacyNanoDet);
    if (!params) return params.error();
    return std::unique_ptr<Decoder>(std::make_unique<GflHeadDecoder>(std::move(*params)));
  });
}

}  // namespace visearch
