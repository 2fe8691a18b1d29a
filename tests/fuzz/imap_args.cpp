// Fuzz target for the IMAP argument converters (command_args.hpp) on the trees the real framing parser
// builds: every converter is applied to every argument (and SEARCH to every argument suffix) of every
// command; none may crash or recurse without bound. Round trips that must hold: a parsed date-time
// formats and parses back to the same instant, parsed flags format and parse back to the same flags,
// and imap_string/imap_astring of any value frame back (through the parser) to the same bytes. CATENATE
// part lists and IMAP URLs (catenate.hpp) go through parse_catenate and parse_imap_url.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tern/imap/catenate.hpp"
#include "tern/imap/command_args.hpp"
#include "tern/imap/command_parser.hpp"

using namespace tern::imap;

namespace {

CommandParserLimits fuzz_limits() {
  CommandParserLimits l;
  l.max_line = 2048;
  l.max_literal = 4000;
  l.max_other_literal = 4000;
  l.max_command = 8000;
  l.max_args = 512;
  return l;
}

// The commands framed from `wire` (continuations skipped, errors dropped).
std::vector<Command> commands(std::string_view wire) {
  CommandParser p(fuzz_limits());
  p.feed(wire);
  std::vector<Command> out;
  while (auto ev = p.next())
    if (ev->kind == CommandParser::Event::Kind::command) out.push_back(std::move(ev->command));
  return out;
}

// The single argument of "t X <text>\r\n", or nullopt if it does not frame as exactly one.
std::optional<Arg> reframe(const std::string& text) {
  auto cs = commands("t X " + text + "\r\n");
  if (cs.size() != 1 || cs[0].args.size() != 1) return std::nullopt;
  return cs[0].args[0];
}

void check_string_forms(const std::string& v) {
  if (v.find('\0') != std::string::npos) return;  // needs literal8 (the session's concern)
  auto s = reframe(imap_string(v));
  if (!s || !s->is_string() || s->value != v) std::abort();
  auto a = reframe(imap_astring(v));
  if (!a || !a->is_astring() || a->value != v) std::abort();
  auto n = reframe(imap_nstring(std::string_view(v)));
  if (!n || n->value != v) std::abort();
}

void exercise(const Arg& a) {
  (void)parse_fetch_items(a, true);
  (void)parse_fetch_items(a, false);
  (void)parse_fetch_modifiers(a);
  (void)parse_sort_criteria(a);
  (void)parse_thread_algorithm(a);
  (void)parse_status_items(a);
  // CATENATE (RFC 4469): every part of an accepted list is a TEXT literal or a URL astring, at most
  // kMaxCatenateParts; an accepted URL names a message (UID >= 1) and a decoded mailbox.
  for (bool utf8 : {false, true}) {
    if (auto parts = parse_catenate(a, utf8)) {
      if (parts->empty() || parts->size() > kMaxCatenateParts) std::abort();
      for (const auto& p : *parts)
        if (!p.value || (p.kind == CatenatePart::Kind::text && p.value->type != Arg::Type::literal)) std::abort();
    }
  }
  if (a.is_astring()) {
    auto url = parse_imap_url(a.value, "alice@example.test", "mail.example.test");
    if (url && (url->uid == 0 || url->mailbox.empty() || a.value.size() > kMaxImapUrl)) std::abort();
  }
  auto flags = parse_flags(a, a.value.size() & 1);
  if (flags) {
    auto back = reframe(format_flags(*flags));
    if (!back) std::abort();
    auto again = parse_flags(*back);
    if (!again || !(*again == *flags)) std::abort();
  }
  if (!a.is_list()) {
    auto set = parse_sequence_set(a.value);
    if (set && !set->saved && set->ranges.empty()) std::abort();
    auto t = parse_date_time(a.value);
    if (t) {
      for (int zone : {0, -420, 330}) {
        auto back = parse_date_time(format_date_time(*t, zone));
        if (!back || *back != *t) std::abort();
      }
    }
    if (a.value.size() < 2000) check_string_forms(a.value);
  } else {
    for (const Arg& c : a.list) exercise(c);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (const Command& c : commands(in)) {
    std::span<const Arg> args(c.args);
    for (std::size_t i = 0; i <= args.size(); ++i) {
      auto p = parse_search(args.subspan(i), true);
      if (p && p->key.children.empty()) std::abort();
    }
    for (const Arg& a : c.args) exercise(a);
  }
  return 0;
}
