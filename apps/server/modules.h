// The one list of route modules `visearch serve` runs with, beyond detection.
#pragma once

#include <vector>

#include "server/server_context.h"

namespace visearch::server {
std::vector<ServerModule> serve_modules();
}
