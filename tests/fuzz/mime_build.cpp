// Fuzz target: the builder's output for any subject, display name, file name and content is well-formed
// (CRLF lines ≤ 998, header lines ≤ 78 unless a single unbreakable token) and parses back with tern's parser
// to the same subject, display name, file name and content bytes.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/mime/address.hpp"
#include "tern/mime/builder.hpp"
#include "tern/mime/codec.hpp"
#include "tern/mime/message.hpp"

namespace {

using namespace tern::mime;

// Text the builder keeps as it is: valid UTF-8, no control characters, single inner spaces.
bool plain_text(std::string_view s) {
  if (!valid_utf8(s) || s.empty() || s.front() == ' ' || s.back() == ' ' || s.find("  ") != std::string_view::npos) return false;
  for (unsigned char c : s)
    if (c < 32 || c == 127) return false;
  return true;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(0, 1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  return s;
}

std::string crlf(std::string_view s) {
  std::string r;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') { r += "\r\n"; if (i + 1 < s.size() && s[i + 1] == '\n') ++i; }
    else if (s[i] == '\n') r += "\r\n";
    else r += s[i];
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string_view f[4];
  for (int k = 0; k < 3; ++k) {
    std::size_t z = in.find('\0');
    f[k] = in.substr(0, z);
    in = z == std::string_view::npos ? std::string_view{} : in.substr(z + 1);
  }
  f[3] = in;
  const std::string subject(f[0]), name(f[1]), filename(f[2]), content(f[3]);
  BuildOptions o;
  o.allow_8bit = flags & 1;
  o.seed = 1 + (flags >> 1);
  MessageBuilder b;
  b.from(make_mailbox(name, "sender@example.org")).to(make_mailbox("", "r@example.net")).subject(subject);
  b.body(MimePart::multipart("mixed", {MimePart::text(content), MimePart::attachment(content, "application/octet-stream", filename)}));
  const std::string m = b.build(o);
  // CRLF lines of at most 998 octets.
  for (std::size_t pos = 0; pos < m.size();) {
    std::size_t e = m.find("\r\n", pos);
    if (e == std::string::npos || e - pos > 998) std::abort();
    if (m.substr(pos, e - pos).find_first_of("\r\n") != std::string::npos) std::abort();
    pos = e + 2;
  }
  Message msg = parse(m);
  if (msg.parts.size() != 3) std::abort();
  const Part& root = msg.root();
  if (plain_text(subject) && trim(decode_encoded_words(root.header("Subject")->unfolded())) != subject) std::abort();
  if (plain_text(name)) {
    auto from = parse_address_list(root.header("From")->unfolded()).all_mailboxes();
    if (from.size() != 1 || from[0].display_name != name || from[0].address() != "sender@example.org") std::abort();
  }
  const Part& text = msg.parts[1];
  const Part& att = msg.parts[2];
  if (decode_transfer_encoding(msg.body(text), text.transfer_encoding).data != crlf(content)) std::abort();
  if (decode_transfer_encoding(msg.body(att), att.transfer_encoding).data != content) std::abort();
  if (plain_text(filename)) {
    const std::string* fn = find_parameter(att.disposition.params, "filename");
    if (!fn || *fn != filename) std::abort();
  }
  return 0;
}
