// Fuzz target: the SMTP client's reply parser and session engine fed arbitrary server bytes. The
// client sends a message as soon as it is ready, writes a small body when asked and quits after the
// result. Checks that the parser stays bounded and that the engine never loops or emits garbage.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/smtp/client_engine.hpp"

using namespace tern::smtp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // 1. The parser alone, bounded.
  ReplyParser p(512, 50);
  p.feed(in);
  while (auto r = p.next()) {
    if (r->code < 200 || r->code > 599 || r->lines.empty() || r->lines.size() > 50) std::abort();
    if (!r->enhanced.empty() && !valid_enhanced_code(r->enhanced, r->code)) std::abort();
  }
  if (!p.failed() && p.buffered() > 513) std::abort();
  // 2. A whole client session against the bytes.
  ClientConfig cc;
  cc.lmtp = size > 0 && (data[0] & 1);
  cc.tls = (size > 0 && (data[0] & 2)) ? TlsPolicy::opportunistic : TlsPolicy::none;
  cc.auth = ClientCredentials{"user", "pass"};
  cc.allow_plaintext_auth = true;
  cc.prefer_chunking = size > 0 && (data[0] & 4);
  cc.bdat_chunk_size = 8;
  ClientEngine c(cc);
  OutboundMessage m;
  m.reverse_path = "a@example.com";
  m.recipients = {{"b@example.org", {true, false, true, false, true}, "rfc822", "b@example.org"},
                  {"c@example.org", {}, {}, {}}};
  m.size = 40;
  std::size_t events = 0;
  for (std::size_t off = 0; off < in.size(); off += 13) {
    c.feed(in.substr(off, 13));
    while (auto ev = c.next_event()) {
      if (++events > 10000) std::abort();
      switch (ev->kind) {
        case ClientEventKind::ready: c.send_message(m); break;
        case ClientEventKind::tls_handshake: c.tls_started(); break;
        case ClientEventKind::send_body:
          c.write_body("Subject: x\r\n\r\n.line\nbare\r\n");
          c.end_body();
          break;
        case ClientEventKind::message_result:
          if (ev->results.size() != m.recipients.size()) std::abort();
          c.quit();
          break;
        default: break;
      }
    }
    std::string out = c.take_output();
    // The client never emits a bare LF or a line that is not CRLF-terminated outside BDAT data.
    if (!cc.prefer_chunking && !out.empty() && out.size() >= 2 && out.substr(out.size() - 2) != "\r\n") std::abort();
  }
  return 0;
}
