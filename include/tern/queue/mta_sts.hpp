// MTA-STS (RFC 8461): the TXT record at _mta-sts.DOMAIN, the policy file served at
// https://mta-sts.DOMAIN/.well-known/mta-sts.txt, and MX pattern matching. Sans-I/O parsers, bounded.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.hpp"

namespace tern::queue {

enum class MtaStsMode { none, testing, enforce };

struct MtaStsPolicy {
  MtaStsMode mode = MtaStsMode::none;
  std::vector<std::string> mx;  // patterns, lower case: "mail.example.com", "*.example.net"
  std::chrono::seconds max_age{0};
};

// RFC 8461 3.1: "v=STSv1; id=20160831085700Z;" -> the id. nullopt when not a valid STSv1 record.
std::optional<std::string> parse_mta_sts_record(std::string_view txt);

// RFC 8461 3.2: "version: STSv1", "mode", "mx" (one or more, not needed for mode none), "max_age"
// (0..31557600). At most 64 KiB and 64 mx lines; unknown keys are ignored.
Result<MtaStsPolicy> parse_mta_sts_policy(std::string_view body);

// RFC 8461 4.1: exact match, or "*.example.net" matching exactly one more leftmost label.
bool mta_sts_mx_matches(std::string_view pattern, std::string_view host);

}  // namespace tern::queue
