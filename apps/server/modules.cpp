#include "server/modules.h"

#include "server/openapi_module.h"
#include "server/search_module.h"

namespace visearch::server {

std::vector<ServerModule> serve_modules() {
  std::vector<ServerModule> modules;
  modules.push_back(search_module());
  modules.push_back(openapi_module("serve"));
  return modules;
}

}  // namespace visearch::server
