// ternctl command group(s) for lib/mime. Registers itself with ternctl::register_group(...).
#include "apps/ternctl/ctl.hpp"
