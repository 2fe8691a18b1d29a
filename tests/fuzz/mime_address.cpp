// Fuzz target: RFC 5322 address lists and date-time (From/To/Cc/Date of every message).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tern/mime/address.hpp"
#include "tern/mime/date.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  tern::mime::AddressLimits limits;
  limits.max_entries = 50;
  auto list = tern::mime::parse_address_list(in, limits);
  if (list.entries.size() > limits.max_entries) std::abort();
  for (const auto& m : list.all_mailboxes()) (void)m.address();
  if (auto d = tern::mime::parse_date_time(in)) {
    if (d->month < 1 || d->month > 12 || d->day < 1 || d->day > 31 || d->hour > 23 || d->minute > 59) std::abort();
    (void)tern::mime::format_date_time(*d);
  }
  return 0;
}
