#include "server/modules.h"

#include "server/search_module.h"

namespace visearch::server {

std::vector<ServerModule> serve_modules() {
  std::vector<ServerModule> modules;
  modules.push_back(search_module());
  return modules;
}

}  // namespace visearch::server
