// ASCII helpers shared by the SMTP engines (SMTP verbs and keywords are case-insensitive ASCII, RFC 5321 §2.4).
#pragma once

#include <string>
#include <string_view>

namespace tern::smtp {

inline std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

}  // namespace tern::smtp
