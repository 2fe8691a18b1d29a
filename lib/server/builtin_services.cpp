// The listener roles Tern itself implements. Each module's service is added here as it lands.
#include "tern/server/service_registry.hpp"

namespace tern {

void register_builtin_services(ServiceRegistry& registry) {
  (void)registry;
}

}  // namespace tern
