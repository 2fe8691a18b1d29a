// ternctl command group(s) for lib/directory. Registers itself with ternctl::register_group(...).
#include "apps/ternctl/ctl.hpp"
