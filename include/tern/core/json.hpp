// JSON string literals (RFC 8259 §7) for every JSON Tern writes: JSON logs, ternctl --json, mailbox
// export, mime inspect. Control characters and DEL become \uXXXX; bytes ≥ 0x80 pass through (callers
// hand in UTF-8).
#pragma once

#include <string>
#include <string_view>

namespace tern {

void append_json_string(std::string& out, std::string_view value);
inline std::string json_string(std::string_view value) {
  std::string out;
  append_json_string(out, value);
  return out;
}

}  // namespace tern
