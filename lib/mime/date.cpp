// RFC 5322 §3.3 / §4.3 date-time.
#include "tern/mime/date.hpp"

#include <cstdio>
#include <vector>

#include "tern/mime/message.hpp"
#include "comment.hpp"

namespace tern::mime {
namespace {

const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

int days_in_month(int y, int m) {
  static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return d[m - 1];
}

// Tokens: runs of letters, runs of digits, and single ':' '+' '-' ','; comments and white space skipped.
std::vector<std::string_view> tokens(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size() && out.size() < 64) {
    char c = s[i];
    if (c == '(') {
      detail::skip_comment(s, i);
      continue;
    }
    auto alpha = [](char x) { return (x >= 'a' && x <= 'z') || (x >= 'A' && x <= 'Z'); };
    auto digit = [](char x) { return x >= '0' && x <= '9'; };
    std::size_t st = i;
    if (alpha(c)) { while (i < s.size() && alpha(s[i])) ++i; out.push_back(s.substr(st, i - st)); continue; }
    if (digit(c)) { while (i < s.size() && digit(s[i])) ++i; out.push_back(s.substr(st, i - st)); continue; }
    if (c == ':' || c == '+' || c == '-' || c == ',' || c == '.') { out.push_back(s.substr(i, 1)); ++i; continue; }
    ++i;
  }
  return out;
}

bool is_num(std::string_view t) { return !t.empty() && t[0] >= '0' && t[0] <= '9'; }
int num(std::string_view t) {
  int v = 0;
  for (char c : t.substr(0, 9)) v = v * 10 + (c - '0');
  return v;
}

}  // namespace

std::int64_t DateTime::unix_time() const {
  std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return days * 86400 + hour * 3600 + minute * 60 + second - static_cast<std::int64_t>(zone_minutes) * 60;
}

std::optional<DateTime> parse_date_time(std::string_view value) {
  auto t = tokens(value.substr(0, 1000));
  std::size_t i = 0;
  // Optional day-of-week and comma.
  if (i < t.size() && !is_num(t[i]) && t[i] != "," && t[i].size() >= 3) {
    bool is_month = false;
    for (auto m : kMonths) is_month = is_month || iequals(t[i].substr(0, 3), m);
    if (!is_month) ++i;
  }
  if (i < t.size() && t[i] == ",") ++i;
  DateTime dt;
  // day month year, tolerating "month day year" (seen from broken writers).
  if (i + 2 >= t.size()) return std::nullopt;
  std::string_view day_tok, month_tok, year_tok;
  if (is_num(t[i])) { day_tok = t[i]; month_tok = t[i + 1]; year_tok = t[i + 2]; }
  else { month_tok = t[i]; day_tok = t[i + 1]; year_tok = t[i + 2]; }
  if (!is_num(day_tok) || !is_num(year_tok) || day_tok.size() > 2) return std::nullopt;
  i += 3;
  int month = 0;
  for (int m = 0; m < 12; ++m)
    if (month_tok.size() >= 3 && iequals(month_tok.substr(0, 3), kMonths[m])) month = m + 1;
  if (!month) return std::nullopt;
  int year = num(year_tok);
  if (year_tok.size() > 4) return std::nullopt;
  // RFC 5322 §4.3: 2-digit years 00-49 are 2000-2049, 50-99 are 1950-1999; 3-digit years add 1900.
  if (year_tok.size() <= 2) year += year < 50 ? 2000 : 1900;
  else if (year_tok.size() == 3) year += 1900;
  dt.year = year;
  dt.month = month;
  dt.day = num(day_tok);
  if (dt.day < 1 || dt.day > days_in_month(year, month)) return std::nullopt;
  // time-of-day: hh:mm[:ss] (also hh.mm.ss)
  if (i >= t.size() || !is_num(t[i])) return std::nullopt;
  dt.hour = num(t[i++]);
  if (i + 1 >= t.size() + 0 || (t[i] != ":" && t[i] != ".") || !is_num(t[i + 1])) return std::nullopt;
  dt.minute = num(t[i + 1]);
  i += 2;
  if (i + 1 < t.size() && (t[i] == ":" || t[i] == ".") && is_num(t[i + 1])) {
    dt.second = num(t[i + 1]);
    i += 2;
  }
  if (dt.hour > 23 || dt.minute > 59 || dt.second > 60) return std::nullopt;
  // zone
  dt.zone_known = false;
  if (i < t.size()) {
    std::string_view z = t[i];
    if ((z == "+" || z == "-") && i + 1 < t.size() && is_num(t[i + 1]) && t[i + 1].size() == 4) {
      int v = num(t[i + 1]);
      int mins = (v / 100) * 60 + v % 100;
      if (v % 100 < 60) {
        dt.zone_minutes = z == "-" ? -mins : mins;
        dt.zone_known = !(z == "-" && mins == 0);  // "-0000": unknown local time (RFC 5322 §3.3)
      }
    } else {
      static const struct { const char* name; int hours; } kZones[] = {
          {"UT", 0}, {"UTC", 0}, {"GMT", 0}, {"Z", 0},   {"EST", -5}, {"EDT", -4},
          {"CST", -6}, {"CDT", -5}, {"MST", -7}, {"MDT", -6}, {"PST", -8}, {"PDT", -7}};
      for (const auto& zn : kZones)
        if (iequals(z, zn.name)) {
          dt.zone_minutes = zn.hours * 60;
          dt.zone_known = true;
        }
      // Other military zones and unknown names: treated as -0000 (RFC 5322 §4.3).
    }
  }
  return dt;
}

DateTime date_time_from_unix(std::int64_t t, int zone_minutes) {
  std::int64_t local = t + static_cast<std::int64_t>(zone_minutes) * 60;
  std::int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
  std::int64_t secs = local - days * 86400;
  // civil_from_days
  std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  DateTime dt;
  dt.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  dt.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  dt.year = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (dt.month <= 2));
  dt.hour = static_cast<int>(secs / 3600);
  dt.minute = static_cast<int>(secs / 60 % 60);
  dt.second = static_cast<int>(secs % 60);
  dt.zone_minutes = zone_minutes;
  dt.zone_known = true;
  return dt;
}

std::string format_date_time(const DateTime& dt) {
  std::int64_t days = days_from_civil(dt.year, static_cast<unsigned>(dt.month), static_cast<unsigned>(dt.day));
  int wd = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
  int z = dt.zone_known ? dt.zone_minutes : 0;
  char sign = (z < 0 || !dt.zone_known) ? '-' : '+';
  if (z < 0) z = -z;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %d %s %04d %02d:%02d:%02d %c%02d%02d", kDays[wd], dt.day,
                kMonths[(dt.month - 1) % 12], dt.year, dt.hour, dt.minute, dt.second, sign, z / 60, z % 60);
  return buf;
}

}  // namespace tern::mime
