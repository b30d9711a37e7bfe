#include "server/modules.h"

namespace visearch::server {

std::vector<ServerModule> serve_modules() {
  std::vector<ServerModule> modules;
  return modules;
}

}  // namespace visearch::server
