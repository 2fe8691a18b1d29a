// Fuzz target for tern::imap::CommandParser. The first byte chooses how the rest is cut into feeds
// (piece size, and whether take_line() is exercised); the event sequence must not depend on how the
// bytes were cut, and every event must satisfy the parser's documented invariants (bounded depth,
// argument count, sizes; upper-case names; no fatal error followed by anything).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tern/imap/command_parser.hpp"

using tern::imap::Arg;
using tern::imap::CommandParser;
using tern::imap::CommandParserLimits;

namespace {

CommandParserLimits fuzz_limits() {
  CommandParserLimits l;
  l.max_line = 256;
  l.max_literal = 2000;
  l.max_other_literal = 300;
  l.max_command = 4000;
  l.max_depth = 8;
  l.max_args = 64;
  l.max_tag = 16;
  return l;
}

void check_arg(const Arg& a, std::size_t depth, std::size_t& count, const CommandParserLimits& l,
               std::string& out) {
  ++count;
  if (a.type == Arg::Type::list && depth > l.max_depth) std::abort();  // depth = lists around it + 1
  switch (a.type) {
    case Arg::Type::atom:
    case Arg::Type::nil:
      if (a.value.empty()) std::abort();
      for (char c : a.value)
        if (c == '\r' || c == '\n' || c == '\0') std::abort();
      out += (a.type == Arg::Type::nil ? "N:" : "A:") + a.value;
      break;
    case Arg::Type::quoted:
      for (char c : a.value)
        if (c == '\r' || c == '\n' || c == '\0') std::abort();
      out += "Q:" + a.value;
      break;
    case Arg::Type::literal:
      if (a.value.size() > l.max_literal) std::abort();
      out += (a.literal8 ? "L8:" : "L:") + std::to_string(a.value.size()) + ":" + a.value;
      break;
    case Arg::Type::list:
      out += "(";
      for (const auto& c : a.list) check_arg(c, depth + 1, count, l, out);
      out += ")";
      break;
  }
  if (a.type != Arg::Type::list && !a.list.empty()) std::abort();
  out += ' ';
}

// Serialises one event and checks it.
std::string check_event(const CommandParser::Event& ev, const CommandParserLimits& l) {
  using Kind = CommandParser::Event::Kind;
  switch (ev.kind) {
    case Kind::command: {
      const auto& c = ev.command;
      if (c.tag.empty() || c.tag.size() > l.max_tag || c.name.empty()) std::abort();
      for (char ch : c.name)
        if (ch >= 'a' && ch <= 'z') std::abort();
      if (c.size > l.max_command) std::abort();
      std::size_t count = 0;
      std::string out = "C " + c.tag + " " + c.name + " " + std::to_string(c.size) + " ";
      for (const auto& a : c.args) check_arg(a, 1, count, l, out);
      if (count > l.max_args) std::abort();
      return out;
    }
    case Kind::continuation:
      if (ev.literal_size > l.max_literal) std::abort();
      return "+" + std::to_string(ev.literal_size);
    case Kind::error:
      if (ev.message.empty() || ev.tag.size() > l.max_tag) std::abort();
      return std::string(ev.fatal ? "F " : "E ") + ev.tag + " " + ev.code + " " + ev.message;
  }
  std::abort();
}

std::vector<std::string> run(std::string_view in, std::size_t piece, const CommandParserLimits& l,
                             std::size_t& total_size) {
  CommandParser p(l);
  std::vector<std::string> events;
  bool dead = false;
  total_size = 0;
  for (std::size_t i = 0; i < in.size(); i += piece) {
    p.feed(in.substr(i, piece));
    while (auto ev = p.next()) {
      if (dead) std::abort();  // nothing after a fatal error
      if (ev->kind == CommandParser::Event::Kind::error && ev->fatal) dead = true;
      if (ev->kind == CommandParser::Event::Kind::command) total_size += ev->command.size;
      events.push_back(check_event(*ev, l));
    }
    if (p.buffered() > in.size()) std::abort();
  }
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const unsigned char mode = data[0];
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const CommandParserLimits limits = fuzz_limits();

  std::size_t whole_size = 0, piece_size = 0;
  auto whole = run(in, in.size() ? in.size() : 1, limits, whole_size);
  auto pieces = run(in, 1 + (mode & 0x3f), limits, piece_size);
  if (whole != pieces || whole_size != piece_size) std::abort();
  if (whole_size > in.size()) std::abort();

  if (mode & 0x40) {
    // take_line() (AUTHENTICATE / IDLE): lines never hold LF, never exceed max_line; alternate with next().
    CommandParser p(limits);
    std::size_t piece = 1 + (mode & 0x0f);
    for (std::size_t i = 0; i < in.size(); i += piece) {
      p.feed(in.substr(i, piece));
      for (int turn = 0;; ++turn) {
        if ((mode & 0x80) && (turn & 1)) {
          auto ev = p.next();
          if (!ev) break;
          check_event(*ev, limits);
          continue;
        }
        auto line = p.take_line();
        if (!line) break;
        if (line->text.size() > limits.max_line) std::abort();
        if (line->text.find('\n') != std::string::npos) std::abort();
        if (line->too_long && !line->text.empty()) std::abort();
      }
    }
    p.discard_buffered();
    if (p.buffered() != 0) std::abort();
  }
  return 0;
}
