// Fuzz target: MTA-STS TXT record and policy parsers (RFC 8461) and MX pattern matching.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tern/queue/mta_sts.hpp"

using namespace tern::queue;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto id = parse_mta_sts_record(in); id && (id->empty() || id->size() > 32)) std::abort();
  if (auto p = parse_mta_sts_policy(in)) {
    if (p->max_age.count() < 0 || p->max_age.count() > 31557600 || p->mx.size() > 64) std::abort();
    if (p->mode != MtaStsMode::none && p->mx.empty()) std::abort();
    for (const auto& mx : p->mx) (void)mta_sts_mx_matches(mx, "mx1.example.com");
  }
  auto nl = in.find('\n');
  if (nl != std::string_view::npos) (void)mta_sts_mx_matches(in.substr(0, nl), in.substr(nl + 1));
  return 0;
}
