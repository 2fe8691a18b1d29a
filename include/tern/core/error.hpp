// Error values: what every fallible Tern call returns instead of throwing.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

namespace tern {

// Broad classes of failure; callers branch on these, humans read the message.
enum class ErrorCategory {
  invalid_argument,  // the caller passed something malformed
  config,            // configuration file or setting is wrong
  io,                // operating-system I/O failed (errno in code)
  tls,               // TLS setup or handshake failed
  protocol,          // the peer broke the protocol
  limit,             // a configured bound was hit
  not_found,         // the thing asked for does not exist
  exists,            // the thing to create exists already
  auth,              // authentication or authorisation failed
  storage,           // the mail store could not do it
  temporary,         // try again later
  unsupported,       // not available in this build or configuration
  internal,          // a bug: an invariant did not hold
};

std::string_view to_string(ErrorCategory c) noexcept;
std::ostream& operator<<(std::ostream& os, ErrorCategory c);

struct Error {
  ErrorCategory category = ErrorCategory::internal;
  int code = 0;         // category-specific detail (errno, protocol reply code, ...); 0 if none
  std::string message;  // a sentence a human understands

  Error() = default;
  Error(ErrorCategory cat, std::string msg, int c = 0) : category(cat), code(c), message(std::move(msg)) {}

  // "category: message" (with the code when set), for logs.
  std::string describe() const;
};

}  // namespace tern
