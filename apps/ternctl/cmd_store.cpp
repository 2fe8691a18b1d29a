// ternctl command group(s) for lib/store. Registers itself with ternctl::register_group(...).
#include "apps/ternctl/ctl.hpp"
