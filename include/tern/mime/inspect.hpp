// `ternctl mime inspect`: the parsed tree as JSON, for operators and cross-checks with other parsers.
#pragma once

#include <string>
#include <string_view>

#include "tern/mime/message.hpp"

namespace tern::mime {

// {"parts":[{number, depth, content_type, params, charset, transfer_encoding, disposition, filename,
//   size, decoded_size, lines, children}...], "headers":{subject, from, to, cc, date, message_id},
//  "defects":[{kind, offset}]}; parts are listed depth-first (the order of Python's Message.walk()).
std::string inspect_json(const Message& m);
std::string inspect_json(std::string_view message, const ParseLimits& limits = {});

// A JSON string literal (UTF-8 kept, control characters escaped, invalid UTF-8 replaced).
std::string json_quote(std::string_view s);

}  // namespace tern::mime
