#include "tern/core/error.hpp"

#include <ostream>

#include <fmt/format.h>

#include "tern/version.hpp"

namespace tern {

const char* runtime_version() noexcept { return TERN_VERSION_STRING; }

std::string_view to_string(ErrorCategory c) noexcept {
  switch (c) {
    case ErrorCategory::invalid_argument: return "invalid_argument";
    case ErrorCategory::config: return "config";
    case ErrorCategory::io: return "io";
    case ErrorCategory::tls: return "tls";
    case ErrorCategory::protocol: return "protocol";
    case ErrorCategory::limit: return "limit";
    case ErrorCategory::not_found: return "not_found";
    case ErrorCategory::exists: return "exists";
    case ErrorCategory::auth: return "auth";
    case ErrorCategory::storage: return "storage";
    case ErrorCategory::temporary: return "temporary";
    case ErrorCategory::unsupported: return "unsupported";
    case ErrorCategory::internal: return "internal";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, ErrorCategory c) { return os << to_string(c); }

std::string Error::describe() const {
  if (code != 0) return fmt::format("{} ({}): {}", to_string(category), code, message);
  return fmt::format("{}: {}", to_string(category), message);
}

}  // namespace tern
