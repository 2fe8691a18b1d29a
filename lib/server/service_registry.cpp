#include "tern/server/service_registry.hpp"

#include <fmt/format.h>

namespace tern {

ServiceRegistry ServiceRegistry::with_builtins() {
  ServiceRegistry r;
  register_builtin_services(r);
  return r;
}

Result<std::shared_ptr<net::Service>> ServiceRegistry::create(ServiceEnvironment& env, const ListenConfig& listen) const {
  auto it = factories_.find(listen.service);
  if (it == factories_.end())
    return fail(ErrorCategory::unsupported, fmt::format("service '{}' is not available in this build", listen.service));
  return it->second(env, listen);
}

}  // namespace tern
