// Test helpers: a ServerEngine driven by a scripted policy, the way a session would drive it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tern/smtp/server_engine.hpp"

namespace tern::smtp::test {

// Accepts everything, like the fuzz target; LMTP message_end gets one 250 per recipient.
inline std::optional<Reply> accept_all(const Event& e) {
  switch (e.kind) {
    case EventKind::connect: return Reply{220, "", ""};
    case EventKind::helo: return Reply{250, "", ""};
    case EventKind::starttls: return Reply{220, "2.0.0", ""};
    case EventKind::auth:
    case EventKind::auth_response: return Reply{235, "2.7.0", "Authentication successful"};
    case EventKind::mail: return Reply{250, "2.1.0", "Sender OK"};
    case EventKind::rcpt: return Reply{250, "2.1.5", "Recipient OK"};
    case EventKind::data_start: return Reply{354, "", ""};
    case EventKind::message_end: return Reply{250, "2.0.0", "Queued as X1"};
    case EventKind::vrfy: return Reply{252, "2.5.0", "Will try"};
    default: return std::nullopt;
  }
}

struct Harness {
  ServerEngine engine;
  std::vector<Event> events;
  std::string body;  // all body events concatenated
  std::function<std::optional<Reply>(const Event&)> policy = accept_all;
  bool auto_tls = false;  // call tls_started() on tls_handshake
  bool hold = false;      // leave decisions pending (async hooks)

  explicit Harness(ServerConfig c = {}, bool tls = false) : engine(std::move(c), tls) {}

  void pump() {
    while (auto ev = engine.next_event()) {
      events.push_back(*ev);
      if (ev->kind == EventKind::body) body += ev->data;
      if (ev->kind == EventKind::tls_handshake && auto_tls) engine.tls_started();
      if (hold) continue;
      std::size_t n = (ev->kind == EventKind::message_end && engine.config().role == Role::lmtp) ? ev->recipients : 1;
      for (std::size_t i = 0; i < n; ++i)
        if (auto r = policy(*ev)) engine.reply(*r);
    }
  }
  // Feeds `in`, runs the pump, returns what the engine wrote.
  std::string run(std::string_view in = {}) {
    engine.feed(in);
    pump();
    return engine.take_output();
  }
  std::size_t count(EventKind k) const {
    std::size_t n = 0;
    for (auto& e : events) n += e.kind == k;
    return n;
  }
  const Event* last(EventKind k) const {
    for (auto it = events.rbegin(); it != events.rend(); ++it)
      if (it->kind == k) return &*it;
    return nullptr;
  }
  // Greeting plus EHLO, output discarded.
  void open(std::string_view ehlo = "EHLO client.example\r\n") {
    run();
    run(ehlo);
  }
};

// The reply lines of `out`, each without CRLF.
inline std::vector<std::string> lines_of(const std::string& out) {
  std::vector<std::string> v;
  std::size_t i = 0;
  while (i < out.size()) {
    std::size_t j = out.find("\r\n", i);
    if (j == std::string::npos) { v.push_back(out.substr(i)); break; }
    v.push_back(out.substr(i, j - i));
    i = j + 2;
  }
  return v;
}

// Codes of the final lines of each reply in `out` ("250", "354", ...).
inline std::vector<std::string> codes_of(const std::string& out) {
  std::vector<std::string> v;
  for (auto& l : lines_of(out))
    if (l.size() >= 4 && l[3] == ' ') v.push_back(l.substr(0, 3));
    else if (l.size() == 3) v.push_back(l);
  return v;
}

}  // namespace tern::smtp::test
