// A small bounded JSON reader for the few places that read JSON (Cloudron imports, OAuth token
// introspection). Internal to libtern: not installed, not a public API.
#pragma once

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "tern/core/result.hpp"

namespace tern::directory::detail {

struct Json {
  enum Type { null, boolean, number, string, array, object } type = null;
  bool b = false;
  std::string s;
  std::vector<Json> items;
  std::vector<std::string> keys;  // object members: keys[i] -> values[i] (no pair<>: Json is incomplete here)
  std::vector<Json> values;
  const Json* get(std::string_view k) const {
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (keys[i] == k) return &values[i];
    return nullptr;
  }
};

struct JsonParser {
  std::string_view t;
  int max_depth = 16;
  std::size_t max_items = 100000;
  std::size_t i = 0;
  std::string err;
  void ws() {
    while (i < t.size() && (t[i] == ' ' || t[i] == '\n' || t[i] == '\r' || t[i] == '\t')) ++i;
  }
  bool fail_at(std::string m) {
    if (err.empty()) err = fmt::format("JSON offset {}: {}", i, m);
    return false;
  }
  bool str(std::string& out) {
    if (i >= t.size() || t[i] != '"') return fail_at("expected a string");
    ++i;
    while (i < t.size() && t[i] != '"') {
      char c = t[i++];
      if (static_cast<unsigned char>(c) < 0x20) return fail_at("control character in string");
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (i >= t.size()) return fail_at("truncated escape");
      char e = t[i++];
      switch (e) {
        case '"': case '\\': case '/': out.push_back(e); break;
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case 'r': out.push_back('\r'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'u': {
          if (i + 4 > t.size()) return fail_at("truncated \\u escape");
          unsigned cp = 0;
          for (int k = 0; k < 4; ++k) {
            char h = t[i++];
            cp <<= 4;
            if (h >= '0' && h <= '9') cp |= static_cast<unsigned>(h - '0');
            else if (h >= 'a' && h <= 'f') cp |= static_cast<unsigned>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F') cp |= static_cast<unsigned>(h - 'A' + 10);
            else return fail_at("bad \\u escape");
          }
          // UTF-8 encode (surrogate pairs are not needed for addresses; encode as-is).
          if (cp < 0x80) out.push_back(static_cast<char>(cp));
          else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          } else {
            out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          }
          break;
        }
        default: return fail_at("bad escape");
      }
    }
    if (i >= t.size()) return fail_at("unterminated string");
    ++i;
    return true;
  }
  bool value(Json& v, int depth) {
    if (depth > max_depth) return fail_at("nested too deeply");
    ws();
    if (i >= t.size()) return fail_at("unexpected end");
    char c = t[i];
    if (c == '"') {
      v.type = Json::string;
      return str(v.s);
    }
    if (c == '{') {
      v.type = Json::object;
      ++i;
      ws();
      if (i < t.size() && t[i] == '}') return ++i, true;
      for (;;) {
        ws();
        std::string k;
        if (!str(k)) return false;
        ws();
        if (i >= t.size() || t[i] != ':') return fail_at("expected ':'");
        ++i;
        Json child;
        if (!value(child, depth + 1)) return false;
        v.keys.push_back(std::move(k));
        v.values.push_back(std::move(child));
        ws();
        if (i < t.size() && t[i] == ',') { ++i; continue; }
        if (i < t.size() && t[i] == '}') return ++i, true;
        return fail_at("expected ',' or '}'");
      }
    }
    if (c == '[') {
      v.type = Json::array;
      ++i;
      ws();
      if (i < t.size() && t[i] == ']') return ++i, true;
      for (;;) {
        if (v.items.size() > max_items) return fail_at("too many items");
        Json child;
        if (!value(child, depth + 1)) return false;
        v.items.push_back(std::move(child));
        ws();
        if (i < t.size() && t[i] == ',') { ++i; continue; }
        if (i < t.size() && t[i] == ']') return ++i, true;
        return fail_at("expected ',' or ']'");
      }
    }
    if (t.substr(i, 4) == "true") return v.type = Json::boolean, v.b = true, i += 4, true;
    if (t.substr(i, 5) == "false") return v.type = Json::boolean, v.b = false, i += 5, true;
    if (t.substr(i, 4) == "null") return v.type = Json::null, i += 4, true;
    if (c == '-' || (c >= '0' && c <= '9')) {
      v.type = Json::number;
      while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '-' || t[i] == '+' ||
                              t[i] == '.' || t[i] == 'e' || t[i] == 'E'))
        v.s.push_back(t[i++]);
      return true;
    }
    return fail_at("unexpected character");
  }
};


// Parses one JSON value filling the whole text (surrounding whitespace allowed).
inline Result<Json> parse_json(std::string_view text, int max_depth = 16, std::size_t max_items = 100000) {
  JsonParser p{text, max_depth, max_items};
  Json root;
  if (!p.value(root, 0)) return fail(ErrorCategory::invalid_argument, p.err);
  p.ws();
  if (p.i != text.size()) return fail(ErrorCategory::invalid_argument, "JSON: trailing data");
  return root;
}

}  // namespace tern::directory::detail
