// tern::imap::CommandParser — the sans-I/O IMAP command framer and tokenizer (RFC 9051 §2.2, §4, §9;
// RFC 7888 LITERAL+/LITERAL-; RFC 3516 literal8). Bytes in, events out: no sockets, no clock.
//
// The session feeds whatever it read, then pulls events until none is ready:
//   parser.feed(bytes);
//   while (auto ev = parser.next()) { ... }
// - Event::command: one complete command (all its lines and literals received).
// - Event::continuation: the client sent a synchronising literal "{n}" that is acceptable: the session
//   must write "+ OK\r\n" (or similar) so the client sends the literal bytes; the parser then goes on.
// - Event::error: a syntax error or a limit hit; `tag` is the command's tag when it was read ("" if not:
//   answer "* BAD ..."). `fatal` means the connection must be closed after answering (the stream can no
//   longer be framed, e.g. a non-synchronising literal over the limit: RFC 7888 §4). `code` is a
//   response code to put in brackets ("TOOBIG", "LIMIT", "" for none). After a non-fatal error the rest
//   of the command is discarded: the rest of its line, and any non-synchronising literals on it; a line
//   ending in a synchronising literal announcement ends the command (the client gets no "+" and sees
//   the tagged BAD/NO instead, RFC 9051 §7.5).
//
// Framing is incremental: a command is framed line by line with a cursor (literal bytes are counted,
// never scanned), so a 50 MB APPEND literal fed in 64 KB pieces costs O(size), not O(size²); the
// argument tree is built once the command is complete.
//
// Lines for AUTHENTICATE responses and IDLE's "DONE" are not commands: while the session is in such a
// state it calls take_line() instead of next().
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/imap/command.hpp"

namespace tern::imap {

struct CommandParserLimits {
  std::size_t max_line = 64 * 1024;                // one line of a command, without literals (Dovecot: 64 KiB)
  std::size_t max_literal = 64ull * 1024 * 1024;   // one literal of APPEND (APPENDLIMIT)
  std::size_t max_other_literal = 1024 * 1024;     // one literal of any other command
  std::size_t max_command = 96ull * 1024 * 1024;   // a whole command (MULTIAPPEND: several messages)
  std::size_t max_depth = 32;                       // nesting of parenthesised lists
  std::size_t max_args = 100000;                    // arguments in a command, all levels together
  std::size_t max_tag = 64;
};

class CommandParser {
 public:
  struct Event {
    enum class Kind { command, continuation, error } kind = Kind::command;
    Command command;       // kind == command
    std::string tag;       // kind == error: the tag if known
    std::string code;      // kind == error: response code without brackets ("TOOBIG", "LIMIT", "")
    std::string message;   // kind == error: a sentence for the client
    bool fatal = false;    // kind == error: close the connection after answering
    std::size_t literal_size = 0;  // kind == continuation: the announced size
  };

  explicit CommandParser(CommandParserLimits limits = {});

  // Appends received bytes.
  void feed(std::string_view bytes);
  // The next event, or nullopt when more bytes are needed.
  std::optional<Event> next();

  // For AUTHENTICATE and IDLE: one whole line (without CRLF; a bare LF also ends it) from the buffered
  // bytes, nullopt if no complete line is buffered. A line longer than max_line yields an error value
  // (the parser then discards up to the next LF).
  struct Line {
    std::string text;
    bool too_long = false;
  };
  std::optional<Line> take_line();

  // Bytes buffered but not yet consumed (for STARTTLS: anything after the STARTTLS line must be
  // discarded, RFC 9051 §6.2.1 / the STARTTLS command-injection class of bugs).
  std::size_t buffered() const;
  void discard_buffered();
  // Removes and returns the unconsumed bytes (COMPRESS: they are compressed and must be inflated first).
  std::string take_buffered();

  // Whether a command has started arriving but is not complete (the session uses the transfer timeout
  // instead of the idle one while true).
  bool mid_command() const;

  const CommandParserLimits& limits() const { return limits_; }
  // The session raises max_literal once it knows the user's APPENDLIMIT.
  void set_limits(const CommandParserLimits& limits) { limits_ = limits; }

 private:
  // What the framer expects next (see command_parser.cpp for the state machine).
  enum class Mode {
    line,          // a line of the current (or next) command
    literal,       // literal bytes of the current command
    discard_line,  // after a non-fatal error: the next line of the erroneous command, dropped
    skip_literal,  // after a non-fatal error: a non-synchronising literal of it, dropped
    skip_long,     // a line longer than max_line, dropped up to its LF
    dead,          // after a fatal error: nothing more is framed
  };
  using Outcome = std::optional<Event>;

  Outcome tokenize(std::string_view line);
  Outcome start_literal(std::size_t size, bool sync);
  Outcome end_discarded_line(std::string_view line);
  Outcome line_too_long(std::string_view line_start);
  Event make_error(std::string code, std::string message, bool fatal = false) const;
  std::vector<Arg>& container();
  std::size_t literal_limit_for_command() const;
  void reset_command();

  CommandParserLimits limits_;
  std::string buffer_;
  std::size_t pos_ = 0;   // consumed prefix of buffer_
  std::size_t scan_ = 0;  // bytes of the current line (from pos_) already searched for LF
  Mode mode_ = Mode::line;
  bool skip_raw_line_ = false;  // take_line(): the rest of an over-long line is still to be dropped
  // The command being received.
  bool started_ = false;        // a tag was read (the first line was tokenized)
  bool need_sep_ = false;       // the previous token ended: SP, ")" or end of line must follow
  Command command_;
  std::vector<Arg> stack_;      // open lists; stack_.empty() means arguments go to command_.args
  std::size_t arg_count_ = 0;
  std::size_t literal_left_ = 0;
  std::string tail_;            // last bytes of a skipped over-long line (for its literal announcement)
  std::optional<Event> pending_;  // a second event produced by one step (a fatal error after an error)
};

}  // namespace tern::imap
