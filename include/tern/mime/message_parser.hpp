// tern::mime::MessageParser: the MIME tree parser fed in chunks (sans-I/O). Feed the message in chunks of
// any size, then finish(): the Message is the one parse() gives for the whole buffer (same parts, offsets,
// line counts, numbers, headers and defects). Bodies are never kept: the parser holds only the current
// partial line (at most max(max_header_line, 512) bytes) and the header fields (bounded by ParseLimits),
// so a 100 MB message is parsed in bounded memory.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "tern/mime/message.hpp"

namespace tern::mime {

class MessageParser {
 public:
  explicit MessageParser(const ParseLimits& limits = {});
  ~MessageParser();
  MessageParser(MessageParser&&) noexcept;
  MessageParser& operator=(MessageParser&&) noexcept;
  MessageParser(const MessageParser&) = delete;
  MessageParser& operator=(const MessageParser&) = delete;

  // The next bytes of the message; the chunk need not outlive the call.
  void feed(std::string_view chunk);
  // End of input: the tree. Message::source is empty (see message.hpp); Header views point into
  // Message::header_store. The parser is spent afterwards (a second finish() returns an empty tree).
  Message finish();

  std::size_t bytes_fed() const;
  // Bytes the parser holds now (partial line + kept header fields) and the most it ever held.
  std::size_t buffered_bytes() const;
  std::size_t peak_buffered_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  friend Message parse(std::string_view, const ParseLimits&);
};

}  // namespace tern::mime
