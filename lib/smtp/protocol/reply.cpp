// Reply formatting: RFC 5321 4.2 (multi-line), 4.5.3.1.5 (512-octet lines), RFC 2034 (enhanced codes).
#include "tern/smtp/reply.hpp"

#include <vector>

namespace tern::smtp {

bool valid_enhanced_code(std::string_view s, int code) noexcept {
  // class "." subject "." detail; class 2/4/5, subject 1-3 digits, detail 1-3 digits (RFC 3463 2).
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  if (code / 100 != s[0] - '0') return false;
  std::size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    std::size_t n = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') { ++i; ++n; }
    if (n < 1 || n > 3) return false;
    if (part == 0) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

std::string format_reply(const Reply& reply, bool with_enhanced) {
  int code = reply.code;
  if (code < 200 || code > 599) code = 451;
  std::string enhanced;
  if (with_enhanced && code / 100 != 3) {
    enhanced = valid_enhanced_code(reply.enhanced, code) ? reply.enhanced
                                                        : std::to_string(code / 100) + ".0.0";
  }
  // Split into paragraphs on '\n', replace other control characters.
  std::vector<std::string> paragraphs(1);
  for (char c : reply.text) {
    if (c == '\n') { paragraphs.emplace_back(); continue; }
    unsigned char u = static_cast<unsigned char>(c);
    paragraphs.back() += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  std::string prefix_tail = enhanced.empty() ? "" : enhanced + " ";
  // "250-" + enhanced + " " + text + CRLF <= 512.
  const std::size_t room = max_reply_line - 4 - prefix_tail.size() - 2;
  std::vector<std::string> lines;
  for (auto& p : paragraphs) {
    std::string_view rest = p;
    if (rest.empty()) { lines.emplace_back(); continue; }
    while (!rest.empty()) {
      if (rest.size() <= room) { lines.emplace_back(rest); break; }
      std::size_t cut = rest.rfind(' ', room);
      if (cut == std::string_view::npos || cut == 0) cut = room;
      // Never cut inside a UTF-8 sequence.
      while (cut > 0 && (static_cast<unsigned char>(rest[cut]) & 0xC0) == 0x80) --cut;
      if (cut == 0) cut = room;
      lines.emplace_back(rest.substr(0, cut));
      rest.remove_prefix(cut);
      while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    }
  }
  std::string out;
  const std::string code_s = std::to_string(code);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += code_s;
    out += (i + 1 < lines.size()) ? '-' : ' ';
    out += prefix_tail;
    out += lines[i];
    if (!prefix_tail.empty() && lines[i].empty()) out.pop_back();  // no trailing space
    out += "\r\n";
  }
  return out;
}

}  // namespace tern::smtp
