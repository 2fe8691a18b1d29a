// Fuzz target: the SMTP server engine fed arbitrary client bytes in arbitrary pieces, every decision
// answered with an accept (LMTP for inputs whose first byte is odd). Checks the framing invariants:
// every reply line is at most 512 octets and well-formed, body events are never larger than the
// chunk size, and nothing is processed while a decision is pending.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/smtp/server_engine.hpp"

using namespace tern::smtp;

namespace {

std::optional<Reply> decide(const Event& e) {
  switch (e.kind) {
    case EventKind::connect: return Reply{220, "", ""};
    case EventKind::helo: return Reply{250, "", ""};
    case EventKind::starttls: return Reply{220, "2.0.0", ""};
    case EventKind::auth: return Reply{334, "", "challenge"};
    case EventKind::auth_response: return Reply{235, "2.7.0", ""};
    case EventKind::mail: return Reply{250, "2.1.0", ""};
    case EventKind::rcpt: return Reply{250, "2.1.5", ""};
    case EventKind::data_start: return Reply{354, "", ""};
    case EventKind::message_end: return Reply{250, "2.0.0", ""};
    case EventKind::vrfy: return Reply{252, "2.5.0", ""};
    default: return std::nullopt;
  }
}

void check_output(const std::string& out) {
  std::size_t i = 0;
  while (i < out.size()) {
    std::size_t j = out.find("\r\n", i);
    if (j == std::string::npos) std::abort();       // every reply ends in CRLF
    if (j + 2 - i > 512 && out.compare(i, 4, "334 ") != 0) std::abort();  // RFC 5321 4.5.3.1.5
    if (j - i < 3 || out[i] < '2' || out[i] > '5') std::abort();
    if (out.find('\n', i) != j + 1) std::abort();   // no bare LF inside a reply line
    i = j + 2;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  ServerConfig c;
  c.role = (data[0] & 1) ? Role::lmtp : Role::smtp;
  c.starttls = data[0] & 2;
  c.vrfy = data[0] & 4;
  c.deliverby = (data[0] & 8) ? 60 : 0;
  c.max_message_size = 4096;
  c.body_chunk_size = 256;
  c.max_text_line_tolerated = 300;
  ServerEngine engine(c, data[0] & 16);
  engine.set_auth_mechanisms({"PLAIN", "LOGIN"});
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  // Feed in pieces whose sizes come from the input itself, so splits land everywhere.
  std::size_t piece = 1 + (data[0] >> 5) * 7;
  for (std::size_t off = 0; off <= in.size(); off += piece) {
    engine.feed(in.substr(off, piece));
    while (auto ev = engine.next_event()) {
      if (ev->kind == EventKind::body && ev->data.size() > c.body_chunk_size) std::abort();
      if (ev->kind == EventKind::tls_handshake) engine.tls_started();
      if (auto r = decide(*ev)) {
        std::size_t n = ev->kind == EventKind::message_end && c.role == Role::lmtp ? ev->recipients : 1;
        for (std::size_t k = 0; k < n; ++k)
          if (!engine.reply(*r)) std::abort();
        if (engine.awaiting_reply() && ev->kind != EventKind::message_end) std::abort();
      }
    }
    check_output(engine.take_output());
    if (engine.closed()) break;
  }
  return 0;
}
