#include "tern/queue/mta_sts.hpp"

#include <cctype>

#include "tern/core/text.hpp"

namespace tern::queue {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string> parse_mta_sts_record(std::string_view txt) {
  if (txt.size() > 1024) return std::nullopt;
  // RFC 8461 3.1: sts-text-record = sts-version 1*(*WSP ";" *WSP sts-field) [*WSP ";"]; v= comes first.
  std::optional<std::string> id;
  bool first = true;
  while (!txt.empty()) {
    auto semi = txt.find(';');
    auto field = trim(txt.substr(0, semi));
    txt = semi == std::string_view::npos ? std::string_view{} : txt.substr(semi + 1);
    if (field.empty()) {
      if (first) return std::nullopt;
      continue;
    }
    auto eq = field.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    auto k = field.substr(0, eq), v = field.substr(eq + 1);
    if (first) {
      if (k != "v" || v != "STSv1") return std::nullopt;
      first = false;
      continue;
    }
    if (k == "id") {
      if (v.empty() || v.size() > 32) return std::nullopt;
      for (char c : v)
        if (!std::isalnum(static_cast<unsigned char>(c))) return std::nullopt;
      id = std::string(v);
    }
  }
  return id;
}

Result<MtaStsPolicy> parse_mta_sts_policy(std::string_view body) {
  if (body.size() > 64 * 1024) return fail(ErrorCategory::limit, "MTA-STS policy larger than 64 KiB");
  MtaStsPolicy p;
  bool version = false, mode = false, max_age = false;
  while (!body.empty()) {
    auto nl = body.find('\n');
    auto line = body.substr(0, nl);
    body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
    line = trim(line);
    if (line.empty()) continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return fail(ErrorCategory::protocol, "MTA-STS policy line without ':'");
    auto key = trim(line.substr(0, colon));
    auto value = trim(line.substr(colon + 1));
    if (key == "version") {
      if (value != "STSv1") return fail(ErrorCategory::protocol, "MTA-STS policy version is not STSv1");
      version = true;
    } else if (key == "mode") {
      if (value == "enforce") p.mode = MtaStsMode::enforce;
      else if (value == "testing") p.mode = MtaStsMode::testing;
      else if (value == "none") p.mode = MtaStsMode::none;
      else return fail(ErrorCategory::protocol, "MTA-STS policy mode is not enforce, testing or none");
      mode = true;
    } else if (key == "mx") {
      if (value.empty() || value.size() > 255) return fail(ErrorCategory::protocol, "MTA-STS policy mx pattern invalid");
      if (p.mx.size() >= 64) return fail(ErrorCategory::limit, "MTA-STS policy has more than 64 mx lines");
      p.mx.push_back(ascii_lower(value));
    } else if (key == "max_age") {
      if (value.empty() || value.size() > 10) return fail(ErrorCategory::protocol, "MTA-STS policy max_age invalid");
      long long v = 0;
      for (char c : value) {
        if (c < '0' || c > '9') return fail(ErrorCategory::protocol, "MTA-STS policy max_age invalid");
        v = v * 10 + (c - '0');
      }
      if (v > 31557600) return fail(ErrorCategory::protocol, "MTA-STS policy max_age above 31557600");
      p.max_age = std::chrono::seconds(v);
      max_age = true;
    }  // other keys: ignored (RFC 8461 3.2 extensions)
  }
  if (!version || !mode || !max_age) return fail(ErrorCategory::protocol, "MTA-STS policy lacks version, mode or max_age");
  if (p.mode != MtaStsMode::none && p.mx.empty()) return fail(ErrorCategory::protocol, "MTA-STS policy has no mx line");
  return p;
}

bool mta_sts_mx_matches(std::string_view pattern_in, std::string_view host_in) {
  auto pattern = ascii_lower(pattern_in), host = ascii_lower(host_in);
  if (!pattern.empty() && pattern.back() == '.') pattern.pop_back();
  if (!host.empty() && host.back() == '.') host.pop_back();
  if (pattern.rfind("*.", 0) == 0) {
    auto dot = host.find('.');
    return dot != std::string::npos && dot > 0 && host.substr(dot + 1) == pattern.substr(2);
  }
  return !host.empty() && pattern == host;
}

}  // namespace tern::queue
