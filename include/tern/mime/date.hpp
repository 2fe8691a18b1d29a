// RFC 5322 §3.3 date-time, with the obsolete forms of §4.3 (2- and 3-digit years, zone names,
// military zones, comments, missing seconds or day of week).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tern::mime {

struct DateTime {
  int year = 1970, month = 1, day = 1;  // month 1..12
  int hour = 0, minute = 0, second = 0;
  int zone_minutes = 0;       // offset east of UTC
  bool zone_known = true;     // false for "-0000" and unknown/military zones (RFC 5322 §4.3)

  std::int64_t unix_time() const;  // seconds since 1970-01-01T00:00:00Z
};

std::optional<DateTime> parse_date_time(std::string_view value);

// "Mon, 2 Jan 2006 15:04:05 -0700" (RFC 5322 §3.3); an unknown zone is written as "-0000".
std::string format_date_time(const DateTime& dt);
// The DateTime of a Unix time shown in a zone offset (minutes east of UTC).
DateTime date_time_from_unix(std::int64_t t, int zone_minutes = 0);

}  // namespace tern::mime
