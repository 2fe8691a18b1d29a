// tern::Result<T>: a value or an Error, never an exception across modules.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <tl/expected.hpp>

#include "tern/core/error.hpp"

namespace tern {

template <class T>
using Result = tl::expected<T, Error>;

using Status = Result<void>;

// Shorthand for returning an error: `return fail(ErrorCategory::config, "...")`.
inline tl::unexpected<Error> fail(ErrorCategory category, std::string message, int code = 0) {
  return tl::unexpected<Error>(Error(category, std::move(message), code));
}
inline tl::unexpected<Error> fail(Error e) { return tl::unexpected<Error>(std::move(e)); }

// An io error from errno, with what was being done: "open /x: No such file or directory".
inline tl::unexpected<Error> fail_errno(const std::string& what, int err = errno) {
  return fail(ErrorCategory::io, what + ": " + std::strerror(err), err);
}

}  // namespace tern
