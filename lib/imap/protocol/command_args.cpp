// IMAP argument converters (command_args.hpp): sequence sets, FETCH items, SEARCH programs, SORT
// criteria, flags, dates, STATUS items; and the response-side string forms (RFC 9051 §4, §9).
#include "tern/imap/command_args.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <limits>

namespace tern::imap {
namespace {

constexpr std::uint64_t kMaxNumber = 4294967295ull;           // RFC 9051 number / nz-number
constexpr std::uint64_t kMaxNumber64 = 9223372036854775807ull;  // number64, mod-sequence-value (63 bits)
constexpr int kMaxSearchDepth = 32;                             // nested NOT/OR/() levels
constexpr std::size_t kMaxSectionParts = 64;                    // "1.2.3..." levels in a section
constexpr std::size_t kQuotedMax = 1024;                        // longer strings are sent as literals

tl::unexpected<Error> bad(std::string message) { return fail(ErrorCategory::invalid_argument, std::move(message)); }

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// ASCII case-insensitive equality with an upper-case keyword.
bool iequals(std::string_view text, std::string_view upper_keyword) {
  if (text.size() != upper_keyword.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (upper(text[i]) != upper_keyword[i]) return false;
  return true;
}

bool istarts_with(std::string_view text, std::string_view upper_prefix) {
  return text.size() >= upper_prefix.size() && iequals(text.substr(0, upper_prefix.size()), upper_prefix);
}

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = upper(c);
  return out;
}

bool is_keyword(const Arg& a, std::string_view upper_keyword) {
  return a.type == Arg::Type::atom && iequals(a.value, upper_keyword);
}

// RFC 9051 §9 ATOM-CHAR: any CHAR except atom-specials ( "(" ")" "{" SP CTL "%" "*" DQUOTE "\" "]" ).
bool is_atom_char(unsigned char c) {
  if (c <= 0x20 || c >= 0x7f) return false;
  switch (c) {
    case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case ']': return false;
    default: return true;
  }
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// 1*DIGIT no larger than `max`; `nonzero`: nz-number (no leading zero, not 0).
std::optional<std::uint64_t> parse_number(std::string_view s, std::uint64_t max, bool nonzero = false) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  if (nonzero && s[0] == '0') return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

// An astring's bytes (atom, quoted, literal; the atom NIL is the text "NIL").
std::optional<std::string> astring_value(const Arg& a) {
  switch (a.type) {
    case Arg::Type::atom:
    case Arg::Type::quoted:
    case Arg::Type::literal: return a.value;
    case Arg::Type::nil: return a.value.empty() ? std::string("NIL") : a.value;
    case Arg::Type::list: return std::nullopt;
  }
  return std::nullopt;
}

std::string arg_text(const Arg& a) {
  if (a.is_list()) return "(...)";
  return a.value.size() > 40 ? a.value.substr(0, 40) + "..." : a.value;
}

// --- dates ------------------------------------------------------------------------------------

constexpr std::array<std::string_view, 12> kMonths = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                      "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 12> kMonthNames = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool leap_year(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap_year(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, int& y, int& m, int& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2));
}

// date-day "-" date-month "-" date-year, with the day 1 or 2 digits (or " 7" when `fixed_space`).
// Consumes from `s`; returns false on a syntax or range error.
bool parse_date_part(std::string_view& s, SearchDate& out, bool allow_space_day) {
  std::size_t i = 0;
  if (allow_space_day && !s.empty() && s[0] == ' ') i = 1;
  std::size_t day_start = i;
  while (i < s.size() && is_digit(s[i]) && i - day_start < 3) ++i;
  std::size_t day_len = i - day_start;
  if (day_len == 0 || day_len > 2 || (day_start == 1 && day_len != 1)) return false;
  int day = 0;
  for (std::size_t k = day_start; k < i; ++k) day = day * 10 + (s[k] - '0');
  if (i + 9 > s.size() || s[i] != '-' || s[i + 4] != '-') return false;
  std::string_view mon = s.substr(i + 1, 3);
  int month = 0;
  for (std::size_t k = 0; k < kMonths.size(); ++k)
    if (iequals(mon, kMonths[k])) month = static_cast<int>(k) + 1;
  if (month == 0) return false;
  int year = 0;
  for (std::size_t k = i + 5; k < i + 9; ++k) {
    if (!is_digit(s[k])) return false;
    year = year * 10 + (s[k] - '0');
  }
  if (i + 9 < s.size() && is_digit(s[i + 9])) return false;  // a fifth year digit
  if (day < 1 || day > days_in_month(year, month)) return false;
  out = SearchDate{year, month, day};
  s.remove_prefix(i + 9);
  return true;
}

// RFC 9051 §9 date: date-text or DQUOTE date-text DQUOTE (the quotes are gone from a quoted Arg).
std::optional<SearchDate> parse_search_date(const Arg& a) {
  if (a.type != Arg::Type::atom && a.type != Arg::Type::quoted) return std::nullopt;
  std::string_view s = a.value;
  SearchDate d;
  if (!parse_date_part(s, d, false) || !s.empty()) return std::nullopt;
  return d;
}

// --- sections ---------------------------------------------------------------------------------

// The inside of "[...]" of BODY/BINARY (RFC 9051 §9 section-spec, RFC 3516 section-binary).
Result<Section> parse_section_spec(std::string_view s, bool binary) {
  Section sec;
  std::size_t i = 0;
  // section-part = nz-number *("." nz-number)
  while (i < s.size() && is_digit(s[i])) {
    std::size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    auto n = parse_number(s.substr(start, i - start), kMaxNumber, true);
    if (!n) return bad("Invalid part number in section [" + std::string(s) + "].");
    if (sec.part.size() >= kMaxSectionParts) return bad("Section part path is too deep.");
    sec.part.push_back(static_cast<std::uint32_t>(*n));
    if (i == s.size()) break;
    if (s[i] != '.') return bad("Invalid section [" + std::string(s) + "].");
    ++i;
    if (i == s.size()) return bad("Invalid section [" + std::string(s) + "]: it ends with a dot.");
  }
  std::string_view rest = s.substr(i);
  if (rest.empty()) return sec;
  if (binary) return bad("BINARY takes only a part number as its section.");
  std::string_view names;
  if (istarts_with(rest, "HEADER.FIELDS.NOT")) {
    sec.text = Section::Text::header_fields_not;
    names = rest.substr(17);
  } else if (istarts_with(rest, "HEADER.FIELDS")) {
    sec.text = Section::Text::header_fields;
    names = rest.substr(13);
  } else if (iequals(rest, "HEADER")) {
    sec.text = Section::Text::header;
    return sec;
  } else if (iequals(rest, "TEXT")) {
    sec.text = Section::Text::text;
    return sec;
  } else if (iequals(rest, "MIME")) {
    // RFC 9051 §6.4.5: MIME only with a part number.
    if (sec.part.empty()) return bad("Section MIME needs a part number.");
    sec.text = Section::Text::mime;
    return sec;
  } else {
    return bad("Invalid section [" + std::string(s) + "].");
  }
  // SP header-list: "(" header-fld-name *(SP header-fld-name) ")"; names are astrings (atom or quoted).
  if (names.size() < 3 || names[0] != ' ' || names[1] != '(' || names.back() != ')')
    return bad("HEADER.FIELDS needs a parenthesised list of field names.");
  names = names.substr(2, names.size() - 3);
  std::size_t p = 0;
  while (p < names.size()) {
    if (names[p] == ' ') {
      ++p;
      continue;
    }
    std::string name;
    if (names[p] == '"') {
      ++p;
      bool closed = false;
      while (p < names.size()) {
        char c = names[p++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (p == names.size() || (names[p] != '"' && names[p] != '\\'))
            return bad("Invalid quoted field name in HEADER.FIELDS.");
          c = names[p++];
        }
        name += c;
      }
      if (!closed) return bad("Unterminated quoted field name in HEADER.FIELDS.");
      if (p < names.size() && names[p] != ' ') return bad("Invalid field name list in HEADER.FIELDS.");
    } else {
      while (p < names.size() && names[p] != ' ') {
        unsigned char c = static_cast<unsigned char>(names[p]);
        // ASTRING-CHAR = ATOM-CHAR / "]"
        if (!is_atom_char(c) && c != ']') return bad("Invalid field name in HEADER.FIELDS.");
        name += names[p++];
      }
    }
    if (name.empty()) return bad("Empty field name in HEADER.FIELDS.");
    for (unsigned char c : name)
      if (c <= 0x20 || c >= 0x7f || c == ':') return bad("Invalid field name in HEADER.FIELDS.");
    sec.fields.push_back(std::move(name));
  }
  if (sec.fields.empty()) return bad("HEADER.FIELDS needs at least one field name.");
  return sec;
}

// One FETCH attribute (not a macro).
Result<FetchItem> parse_fetch_att(const Arg& a, bool rev1) {
  if (!a.is_atom()) return bad("Invalid FETCH attribute " + arg_text(a) + ".");
  std::string_view text = a.value;
  std::size_t bracket = text.find('[');
  if (bracket == std::string_view::npos) {
    struct Simple {
      std::string_view name;
      FetchItem::Kind kind;
      bool rev1_only;
    };
    static constexpr Simple kSimple[] = {
        {"UID", FetchItem::Kind::uid, false},
        {"FLAGS", FetchItem::Kind::flags, false},
        {"INTERNALDATE", FetchItem::Kind::internaldate, false},
        {"RFC822.SIZE", FetchItem::Kind::rfc822_size, false},
        {"ENVELOPE", FetchItem::Kind::envelope, false},
        {"BODY", FetchItem::Kind::body, false},
        {"BODYSTRUCTURE", FetchItem::Kind::bodystructure, false},
        {"RFC822", FetchItem::Kind::rfc822, true},
        {"RFC822.HEADER", FetchItem::Kind::rfc822_header, true},
        {"RFC822.TEXT", FetchItem::Kind::rfc822_text, true},
        {"MODSEQ", FetchItem::Kind::modseq, false},
        {"EMAILID", FetchItem::Kind::emailid, false},
        {"THREADID", FetchItem::Kind::threadid, false},
        {"SAVEDATE", FetchItem::Kind::savedate, false},
    };
    for (const auto& s : kSimple) {
      if (!iequals(text, s.name)) continue;
      if (s.rev1_only && !rev1) return bad(std::string(s.name) + " is not an IMAP4rev2 FETCH attribute.");
      FetchItem item;
      item.kind = s.kind;
      return item;
    }
    return bad("Unknown FETCH attribute " + arg_text(a) + ".");
  }

  FetchItem item;
  std::string_view name = text.substr(0, bracket);
  bool binary = false;
  bool size = false;
  if (iequals(name, "BODY")) {
    item.kind = FetchItem::Kind::body_section;
  } else if (iequals(name, "BODY.PEEK")) {
    item.kind = FetchItem::Kind::body_section;
    item.peek = true;
  } else if (iequals(name, "BINARY")) {
    item.kind = FetchItem::Kind::binary;
    binary = true;
  } else if (iequals(name, "BINARY.PEEK")) {
    item.kind = FetchItem::Kind::binary;
    item.peek = true;
    binary = true;
  } else if (iequals(name, "BINARY.SIZE")) {
    item.kind = FetchItem::Kind::binary_size;
    binary = true;
    size = true;
  } else {
    return bad("Unknown FETCH attribute " + arg_text(a) + ".");
  }
  // The matching ']' (a quoted field name may hold one).
  std::size_t close = std::string_view::npos;
  bool in_quote = false;
  for (std::size_t i = bracket + 1; i < text.size(); ++i) {
    char c = text[i];
    if (in_quote) {
      if (c == '\\' && i + 1 < text.size()) ++i;
      else if (c == '"') in_quote = false;
    } else if (c == '"') {
      in_quote = true;
    } else if (c == ']') {
      close = i;
      break;
    }
  }
  if (close == std::string_view::npos) return bad("Missing ] in FETCH attribute " + arg_text(a) + ".");
  auto sec = parse_section_spec(text.substr(bracket + 1, close - bracket - 1), binary);
  if (!sec) return tl::unexpected(sec.error());
  item.section = std::move(*sec);
  std::string_view rest = text.substr(close + 1);
  if (rest.empty()) return item;
  // "<" number "." nz-number ">" (RFC 9051 §9 fetch-att partial)
  if (size) return bad("BINARY.SIZE takes no partial range.");
  if (rest.size() < 5 || rest.front() != '<' || rest.back() != '>')
    return bad("Invalid partial range in FETCH attribute " + arg_text(a) + ".");
  rest = rest.substr(1, rest.size() - 2);
  std::size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return bad("A partial range needs <offset.length>.");
  auto off = parse_number(rest.substr(0, dot), kMaxNumber);
  auto len = parse_number(rest.substr(dot + 1), kMaxNumber, true);
  if (!off || !len) return bad("Invalid partial range in FETCH attribute " + arg_text(a) + ".");
  item.partial = Partial{static_cast<std::uint32_t>(*off), static_cast<std::uint32_t>(*len)};
  return item;
}

// --- flags ------------------------------------------------------------------------------------

bool valid_keyword(std::string_view k) {
  if (k.empty()) return false;
  for (unsigned char c : k)
    if (!is_atom_char(c)) return false;
  return true;
}

// --- search -----------------------------------------------------------------------------------

class SearchParser {
 public:
  // Keys until the end of `args_` as children of `into`.
  Status keys(std::span<const Arg> args, SearchKey& into, int depth) {
    std::size_t pos = 0;
    if (args.empty()) return bad("SEARCH needs at least one search key.");
    while (pos < args.size()) {
      auto k = key(args, pos, depth);
      if (!k) return tl::unexpected(k.error());
      into.children.push_back(std::move(*k));
    }
    return {};
  }

 private:
  static const Arg* next(std::span<const Arg> args, std::size_t& pos) {
    return pos < args.size() ? &args[pos++] : nullptr;
  }

  static Result<std::string> string_arg(std::span<const Arg> args, std::size_t& pos, std::string_view key) {
    const Arg* a = next(args, pos);
    std::optional<std::string> v;
    if (a) v = astring_value(*a);
    if (!v) return bad("SEARCH " + std::string(key) + " needs a string argument.");
    return *v;
  }

  static Result<std::uint64_t> number_arg(std::span<const Arg> args, std::size_t& pos, std::string_view key,
                                          std::uint64_t max, bool nonzero) {
    const Arg* a = next(args, pos);
    std::optional<std::uint64_t> n;
    if (a && a->is_atom()) n = parse_number(a->value, max, nonzero);
    if (!n) return bad("SEARCH " + std::string(key) + " needs a number.");
    return *n;
  }

  Result<SearchKey> key(std::span<const Arg> args, std::size_t& pos, int depth) {
    if (depth > kMaxSearchDepth) return bad("SEARCH keys are nested too deeply.");
    const Arg& a = args[pos++];
    SearchKey k;
    if (a.is_list()) {
      // "(" search-key *(SP search-key) ")"
      k.kind = SearchKeyKind::and_;
      if (a.list.empty()) return bad("Empty parenthesised SEARCH key.");
      auto st = keys(a.list, k, depth + 1);
      if (!st) return tl::unexpected(st.error());
      return k;
    }
    if (!a.is_atom()) return bad("Invalid SEARCH key " + arg_text(a) + ".");
    const std::string& name = a.value;
    if (!name.empty() && (is_digit(name[0]) || name[0] == '*' || name[0] == '$')) {
      auto set = parse_sequence_set(name);
      if (!set) return tl::unexpected(set.error());
      k.kind = SearchKeyKind::sequence_set;
      k.set = std::move(*set);
      return k;
    }
    const std::string key_name = to_upper(name);

    struct Simple {
      std::string_view name;
      SearchKeyKind kind;
    };
    static constexpr Simple kSimple[] = {
        {"ALL", SearchKeyKind::all},
        {"ANSWERED", SearchKeyKind::answered},
        {"DELETED", SearchKeyKind::deleted},
        {"DRAFT", SearchKeyKind::draft},
        {"FLAGGED", SearchKeyKind::flagged},
        {"SEEN", SearchKeyKind::seen},
        {"RECENT", SearchKeyKind::recent},
        {"NEW", SearchKeyKind::new_},
        {"OLD", SearchKeyKind::old},
        {"UNANSWERED", SearchKeyKind::unanswered},
        {"UNDELETED", SearchKeyKind::undeleted},
        {"UNDRAFT", SearchKeyKind::undraft},
        {"UNFLAGGED", SearchKeyKind::unflagged},
        {"UNSEEN", SearchKeyKind::unseen},
        {"SAVEDATESUPPORTED", SearchKeyKind::savedatesupported},
    };
    for (const auto& s : kSimple) {
      if (key_name == s.name) {
        k.kind = s.kind;
        return k;
      }
    }
    static constexpr Simple kString[] = {
        {"BCC", SearchKeyKind::bcc},         {"CC", SearchKeyKind::cc},   {"FROM", SearchKeyKind::from},
        {"SUBJECT", SearchKeyKind::subject}, {"TO", SearchKeyKind::to},   {"BODY", SearchKeyKind::body},
        {"TEXT", SearchKeyKind::text},
    };
    for (const auto& s : kString) {
      if (key_name != s.name) continue;
      k.kind = s.kind;
      auto v = string_arg(args, pos, key_name);
      if (!v) return tl::unexpected(v.error());
      k.text = std::move(*v);
      return k;
    }
    // RFC 8474 §6: EMAILID / THREADID objectid (1*255 of ALPHA / DIGIT / "_" / "-").
    if (key_name == "EMAILID" || key_name == "THREADID") {
      k.kind = key_name == "EMAILID" ? SearchKeyKind::emailid : SearchKeyKind::threadid;
      const Arg* id = next(args, pos);
      bool valid = id && id->is_astring() && !id->value.empty() && id->value.size() <= 255;
      for (std::size_t c = 0; valid && c < id->value.size(); ++c) {
        unsigned char ch = static_cast<unsigned char>(id->value[c]);
        valid = std::isalnum(ch) || ch == '_' || ch == '-';
      }
      if (!valid) return bad("SEARCH " + key_name + " needs an object id (letters, digits, \"_\" and \"-\").");
      k.text = id->value;
      return k;
    }
    static constexpr Simple kDate[] = {
        {"BEFORE", SearchKeyKind::before},           {"ON", SearchKeyKind::on},
        {"SINCE", SearchKeyKind::since},             {"SENTBEFORE", SearchKeyKind::sentbefore},
        {"SENTON", SearchKeyKind::senton},           {"SENTSINCE", SearchKeyKind::sentsince},
        {"SAVEDBEFORE", SearchKeyKind::savedbefore}, {"SAVEDON", SearchKeyKind::savedon},
        {"SAVEDSINCE", SearchKeyKind::savedsince},
    };
    for (const auto& s : kDate) {
      if (key_name != s.name) continue;
      k.kind = s.kind;
      const Arg* d = next(args, pos);
      std::optional<SearchDate> date;
      if (d) date = parse_search_date(*d);
      if (!date) return bad("SEARCH " + key_name + " needs a date like 1-Feb-1994.");
      k.date = *date;
      return k;
    }
    if (key_name == "KEYWORD" || key_name == "UNKEYWORD") {
      k.kind = key_name == "KEYWORD" ? SearchKeyKind::keyword : SearchKeyKind::unkeyword;
      const Arg* f = next(args, pos);
      if (!f || !(f->is_atom() || f->is_string()) || !valid_keyword(f->value))
        return bad("SEARCH " + key_name + " needs a flag keyword.");
      k.text = f->value;
      return k;
    }
    if (key_name == "HEADER") {
      k.kind = SearchKeyKind::header;
      auto field = string_arg(args, pos, key_name);
      if (!field) return tl::unexpected(field.error());
      auto value = string_arg(args, pos, key_name);
      if (!value) return tl::unexpected(value.error());
      k.field = std::move(*field);
      k.text = std::move(*value);
      return k;
    }
    if (key_name == "LARGER" || key_name == "SMALLER") {
      k.kind = key_name == "LARGER" ? SearchKeyKind::larger : SearchKeyKind::smaller;
      auto n = number_arg(args, pos, key_name, kMaxNumber64, false);  // number64 (RFC 9051)
      if (!n) return tl::unexpected(n.error());
      k.number = *n;
      return k;
    }
    if (key_name == "OLDER" || key_name == "YOUNGER") {
      // RFC 5032 §4: "OLDER" SP nz-number (seconds)
      k.kind = key_name == "OLDER" ? SearchKeyKind::older : SearchKeyKind::younger;
      auto n = number_arg(args, pos, key_name, kMaxNumber, true);
      if (!n) return tl::unexpected(n.error());
      k.number = *n;
      return k;
    }
    if (key_name == "UID") {
      k.kind = SearchKeyKind::uid;
      const Arg* s = next(args, pos);
      if (!s || !s->is_atom()) return bad("SEARCH UID needs a sequence set.");
      auto set = parse_sequence_set(s->value);
      if (!set) return tl::unexpected(set.error());
      k.set = std::move(*set);
      return k;
    }
    if (key_name == "MODSEQ") {
      // RFC 7162 §3.1.5: "MODSEQ" [SP entry-name SP entry-type-req] SP mod-sequence-valzer
      k.kind = SearchKeyKind::modseq;
      const Arg* e = pos < args.size() ? &args[pos] : nullptr;
      if (e && e->is_string()) {
        ++pos;
        // entry-flag-name = DQUOTE "/flags/" attr-flag DQUOTE
        if (!istarts_with(e->value, "/FLAGS/") || e->value.size() == 7)
          return bad("SEARCH MODSEQ entry name must be \"/flags/<flag>\".");
        const Arg* t = next(args, pos);
        if (!t || !t->is_atom() || !(iequals(t->value, "PRIV") || iequals(t->value, "SHARED") ||
                                     iequals(t->value, "ALL")))
          return bad("SEARCH MODSEQ entry type must be priv, shared or all.");
        k.field = e->value;
        k.text = t->value;
        for (char& c : k.text) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      }
      auto n = number_arg(args, pos, key_name, kMaxNumber64, false);
      if (!n) return tl::unexpected(n.error());
      k.number = *n;
      return k;
    }
    if (key_name == "NOT") {
      k.kind = SearchKeyKind::not_;
      if (pos >= args.size()) return bad("SEARCH NOT needs a search key.");
      auto c = key(args, pos, depth + 1);
      if (!c) return tl::unexpected(c.error());
      k.children.push_back(std::move(*c));
      return k;
    }
    if (key_name == "OR") {
      k.kind = SearchKeyKind::or_;
      for (int i = 0; i < 2; ++i) {
        if (pos >= args.size()) return bad("SEARCH OR needs two search keys.");
        auto c = key(args, pos, depth + 1);
        if (!c) return tl::unexpected(c.error());
        k.children.push_back(std::move(*c));
      }
      return k;
    }
    if (key_name == "CHARSET") return bad("SEARCH CHARSET must come before the search keys.");
    if (key_name == "RETURN") return bad("SEARCH RETURN must come first.");
    return bad("Unknown SEARCH key " + arg_text(a) + ".");
  }
};

}  // namespace

// --- public -----------------------------------------------------------------------------------

Result<SequenceSet> parse_sequence_set(std::string_view text) {
  SequenceSet set;
  if (text == "$") {
    set.saved = true;
    return set;
  }
  if (text.empty()) return bad("Empty sequence set.");
  auto invalid = [&] { return bad("Invalid sequence set " + std::string(text.substr(0, 40)) + "."); };
  auto number = [](std::string_view s) -> std::optional<std::uint32_t> {
    if (s == "*") return SeqRange::kStar;
    auto n = parse_number(s, kMaxNumber, true);
    if (!n) return std::nullopt;
    return static_cast<std::uint32_t>(*n);
  };
  std::size_t start = 0;
  while (true) {
    std::size_t comma = text.find(',', start);
    std::string_view item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    std::size_t colon = item.find(':');
    SeqRange r;
    if (colon == std::string_view::npos) {
      auto n = number(item);
      if (!n) return invalid();
      r.first = r.last = *n;
    } else {
      auto a = number(item.substr(0, colon));
      auto b = number(item.substr(colon + 1));
      if (!a || !b) return invalid();
      r.first = *a;
      r.last = *b;
    }
    set.ranges.push_back(r);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return set;
}

Result<std::vector<FetchItem>> parse_fetch_items(const Arg& arg, bool rev1) {
  std::vector<FetchItem> items;
  auto add = [&](std::initializer_list<FetchItem::Kind> kinds) {
    for (auto k : kinds) {
      FetchItem item;
      item.kind = k;
      items.push_back(std::move(item));
    }
  };
  using K = FetchItem::Kind;
  if (arg.is_atom()) {
    // RFC 9051 §6.4.5 macros (only as the sole argument)
    if (iequals(arg.value, "ALL")) {
      add({K::flags, K::internaldate, K::rfc822_size, K::envelope});
      return items;
    }
    if (iequals(arg.value, "FAST")) {
      add({K::flags, K::internaldate, K::rfc822_size});
      return items;
    }
    if (iequals(arg.value, "FULL")) {
      add({K::flags, K::internaldate, K::rfc822_size, K::envelope, K::body});
      return items;
    }
    auto item = parse_fetch_att(arg, rev1);
    if (!item) return tl::unexpected(item.error());
    items.push_back(std::move(*item));
    return items;
  }
  if (!arg.is_list()) return bad("FETCH needs an attribute or a parenthesised list of attributes.");
  if (arg.list.empty()) return bad("FETCH needs at least one attribute.");
  for (const Arg& a : arg.list) {
    if (is_keyword(a, "ALL") || is_keyword(a, "FAST") || is_keyword(a, "FULL"))
      return bad("FETCH macros ALL, FAST and FULL cannot be used in a list.");
    auto item = parse_fetch_att(a, rev1);
    if (!item) return tl::unexpected(item.error());
    items.push_back(std::move(*item));
  }
  return items;
}

Result<FetchModifiers> parse_fetch_modifiers(const Arg& list) {
  if (!list.is_list() || list.list.empty()) return bad("FETCH modifiers must be a non-empty parenthesised list.");
  FetchModifiers m;
  const auto& l = list.list;
  for (std::size_t i = 0; i < l.size(); ++i) {
    if (is_keyword(l[i], "CHANGEDSINCE")) {
      if (m.changedsince) return bad("CHANGEDSINCE is given twice.");
      std::optional<std::uint64_t> n;
      if (i + 1 < l.size() && l[i + 1].is_atom()) n = parse_number(l[i + 1].value, kMaxNumber64);
      if (!n) return bad("CHANGEDSINCE needs a mod-sequence number.");
      m.changedsince = *n;
      ++i;
    } else if (is_keyword(l[i], "VANISHED")) {
      if (m.vanished) return bad("VANISHED is given twice.");
      m.vanished = true;
    } else {
      return bad("Unknown FETCH modifier " + arg_text(l[i]) + ".");
    }
  }
  return m;
}

Result<SearchProgram> parse_search(std::span<const Arg> args, bool allow_return) {
  SearchProgram program;
  program.key.kind = SearchKeyKind::and_;
  std::size_t pos = 0;
  if (pos < args.size() && is_keyword(args[pos], "RETURN")) {
    if (!allow_return) return bad("SEARCH RETURN options are not available here.");
    ++pos;
    if (pos >= args.size() || !args[pos].is_list()) return bad("SEARCH RETURN needs a parenthesised option list.");
    program.esearch = true;
    // RFC 4731 §3.1 / RFC 9051 §6.4.4.1; an empty list means ALL (left for format_esearch_response).
    for (const Arg& o : args[pos].list) {
      if (is_keyword(o, "MIN")) program.ret.min = true;
      else if (is_keyword(o, "MAX")) program.ret.max = true;
      else if (is_keyword(o, "ALL")) program.ret.all = true;
      else if (is_keyword(o, "COUNT")) program.ret.count = true;
      else if (is_keyword(o, "SAVE")) program.ret.save = true;  // RFC 5182
      else return bad("Unknown SEARCH RETURN option " + arg_text(o) + ".");
    }
    ++pos;
  }
  if (pos < args.size() && is_keyword(args[pos], "CHARSET")) {
    ++pos;
    std::optional<std::string> cs;
    if (pos < args.size()) cs = astring_value(args[pos]);
    if (!cs) return bad("SEARCH CHARSET needs a charset name.");
    ++pos;
    if (!iequals(*cs, "UTF-8") && !iequals(*cs, "US-ASCII"))
      return fail(ErrorCategory::unsupported, "BADCHARSET");
    program.charset = std::move(*cs);
  }
  SearchParser parser;
  auto st = parser.keys(args.subspan(pos), program.key, 0);
  if (!st) return tl::unexpected(st.error());
  return program;
}

Result<std::vector<SortCriterion>> parse_sort_criteria(const Arg& list) {
  if (!list.is_list() || list.list.empty()) return bad("SORT needs a parenthesised list of sort criteria.");
  struct Key {
    std::string_view name;
    SortKey key;
  };
  static constexpr Key kKeys[] = {
      {"ARRIVAL", SortKey::arrival}, {"CC", SortKey::cc},         {"DATE", SortKey::date},
      {"FROM", SortKey::from},       {"SIZE", SortKey::size},     {"SUBJECT", SortKey::subject},
      {"TO", SortKey::to},           {"DISPLAYFROM", SortKey::displayfrom},
      {"DISPLAYTO", SortKey::displayto},
  };
  std::vector<SortCriterion> out;
  bool reverse = false;
  for (const Arg& a : list.list) {
    if (is_keyword(a, "REVERSE")) {
      if (reverse) return bad("REVERSE must be followed by a sort key.");
      reverse = true;
      continue;
    }
    const Key* found = nullptr;
    if (a.is_atom())
      for (const auto& k : kKeys)
        if (iequals(a.value, k.name)) found = &k;
    if (!found) return bad("Unknown SORT criterion " + arg_text(a) + ".");
    out.push_back(SortCriterion{found->key, reverse});
    reverse = false;
  }
  if (reverse) return bad("REVERSE must be followed by a sort key.");
  return out;
}

Result<ThreadAlgorithm> parse_thread_algorithm(const Arg& atom) {
  if (is_keyword(atom, "ORDEREDSUBJECT")) return ThreadAlgorithm::orderedsubject;
  if (is_keyword(atom, "REFERENCES")) return ThreadAlgorithm::references;
  return bad("Unknown THREAD algorithm " + arg_text(atom) + ".");
}

Result<store::MessageFlags> parse_flags(const Arg& arg, bool allow_recent) {
  store::MessageFlags flags;
  std::span<const Arg> items;
  if (arg.is_list()) items = arg.list;
  else if (arg.is_atom() || arg.is_nil()) items = std::span<const Arg>(&arg, 1);
  else return bad("Flags must be a flag or a parenthesised list of flags.");
  for (const Arg& f : items) {
    // "NIL" is a valid flag-keyword atom (Dovecot stores it as the keyword NIL)
    if (!f.is_atom() && !f.is_nil()) return bad("Invalid flag " + arg_text(f) + ".");
    const std::string& v = f.value;
    if (!v.empty() && v[0] == '\\') {
      // RFC 9051 §2.3.2 system flags
      if (iequals(v, "\\SEEN")) flags.system |= store::flag_seen;
      else if (iequals(v, "\\ANSWERED")) flags.system |= store::flag_answered;
      else if (iequals(v, "\\FLAGGED")) flags.system |= store::flag_flagged;
      else if (iequals(v, "\\DELETED")) flags.system |= store::flag_deleted;
      else if (iequals(v, "\\DRAFT")) flags.system |= store::flag_draft;
      else if (iequals(v, "\\RECENT") && allow_recent) continue;
      else if (iequals(v, "\\RECENT")) return bad("The \\Recent flag cannot be set.");
      else return bad("Unknown system flag " + arg_text(f) + ".");
      continue;
    }
    if (!valid_keyword(v)) return bad("Invalid flag keyword " + arg_text(f) + ".");
    flags.keywords.push_back(v);
  }
  std::sort(flags.keywords.begin(), flags.keywords.end());
  flags.keywords.erase(std::unique(flags.keywords.begin(), flags.keywords.end()), flags.keywords.end());
  return flags;
}

Result<std::int64_t> parse_date_time(std::string_view text) {
  // date-day-fixed "-" date-month "-" date-year SP time SP zone (RFC 9051 §9)
  auto invalid = [&] {
    return bad("Invalid date-time \"" + std::string(text.substr(0, 40)) + "\" (expected like 17-Jul-1996 02:44:25 -0700).");
  };
  std::string_view s = text;
  SearchDate d;
  if (!parse_date_part(s, d, true)) return invalid();
  // SP 2DIGIT ":" 2DIGIT ":" 2DIGIT SP ("+" / "-") 4DIGIT
  if (s.size() != 15 || s[0] != ' ' || s[3] != ':' || s[6] != ':' || s[9] != ' ' || (s[10] != '+' && s[10] != '-'))
    return invalid();
  auto two = [&](std::size_t at) -> int {
    if (!is_digit(s[at]) || !is_digit(s[at + 1])) return -1;
    return (s[at] - '0') * 10 + (s[at + 1] - '0');
  };
  int hh = two(1), mm = two(4), ss = two(7), zh = two(11), zm = two(13);
  if (hh < 0 || mm < 0 || ss < 0 || zh < 0 || zm < 0) return invalid();
  if (hh > 23 || mm > 59 || ss > 60 || zm > 59) return invalid();
  std::int64_t zone = (zh * 60 + zm) * 60;
  if (s[10] == '-') zone = -zone;
  std::int64_t days = days_from_civil(d.year, static_cast<unsigned>(d.month), static_cast<unsigned>(d.day));
  return days * 86400 + hh * 3600 + mm * 60 + ss - zone;
}

std::string format_date_time(std::int64_t unix_time, int zone_minutes) {
  std::int64_t local = unix_time + static_cast<std::int64_t>(zone_minutes) * 60;
  std::int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
  std::int64_t secs = local - days * 86400;
  int y = 0, m = 0, d = 0;
  civil_from_days(days, y, m, d);
  int zone = zone_minutes < 0 ? -zone_minutes : zone_minutes;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%02d-%s-%04d %02d:%02d:%02d %c%02d%02d", d,
                std::string(kMonthNames[static_cast<std::size_t>(m - 1)]).c_str(), y, static_cast<int>(secs / 3600),
                static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60), zone_minutes < 0 ? '-' : '+',
                zone / 60 % 100, zone % 60);
  return buf;
}

Result<std::vector<std::string>> parse_status_items(const Arg& list) {
  if (!list.is_list() || list.list.empty()) return bad("STATUS needs a parenthesised list of status items.");
  static constexpr std::string_view kItems[] = {"MESSAGES", "UIDNEXT",       "UIDVALIDITY",
                                                "UNSEEN",   "DELETED",       "SIZE",
                                                "RECENT",   "HIGHESTMODSEQ", "APPENDLIMIT",
                                                "MAILBOXID"};
  std::vector<std::string> out;
  for (const Arg& a : list.list) {
    bool known = false;
    if (a.is_atom())
      for (auto k : kItems)
        if (iequals(a.value, k)) known = true;
    if (!known) return bad("Unknown STATUS item " + arg_text(a) + ".");
    std::string item = to_upper(a.value);
    if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(std::move(item));
  }
  return out;
}

std::string imap_string(std::string_view bytes) {
  // Quoted only for 7-bit text without CR, LF, NUL (RFC 9051 §4.3 QUOTED-CHAR; IMAP4rev1 clients
  // take no 8-bit in quoted strings); long strings go as literals.
  bool quotable = bytes.size() <= kQuotedMax;
  for (unsigned char c : bytes) {
    if (c == 0 || c == '\r' || c == '\n' || c >= 0x80) {
      quotable = false;
      break;
    }
  }
  std::string out;
  if (!quotable) {
    out.reserve(bytes.size() + 16);
    out += '{';
    out += std::to_string(bytes.size());
    out += "}\r\n";
    out.append(bytes);
    return out;
  }
  out.reserve(bytes.size() + 2);
  out += '"';
  for (char c : bytes) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

std::string imap_nstring(const std::optional<std::string_view>& bytes) {
  return bytes ? imap_string(*bytes) : std::string("NIL");
}

std::string imap_astring(std::string_view bytes) {
  // '[' is an ATOM-CHAR, but servers and clients that read "[...]" as a bracket section (as our own
  // parser does) would misframe "[Gmail]/Sent": such names are quoted.
  bool atom = !bytes.empty() && !iequals(bytes, "NIL");
  for (unsigned char c : bytes)
    if (!is_atom_char(c) || c == '[') atom = false;
  return atom ? std::string(bytes) : imap_string(bytes);
}

std::string format_flags(const store::MessageFlags& flags, bool recent) {
  std::string out = "(";
  auto add = [&](std::string_view f) {
    if (out.size() > 1) out += ' ';
    out += f;
  };
  if (flags.system & store::flag_answered) add("\\Answered");
  if (flags.system & store::flag_flagged) add("\\Flagged");
  if (flags.system & store::flag_deleted) add("\\Deleted");
  if (flags.system & store::flag_seen) add("\\Seen");
  if (flags.system & store::flag_draft) add("\\Draft");
  if (recent) add("\\Recent");
  for (const auto& k : flags.keywords) add(k);
  out += ')';
  return out;
}

}  // namespace tern::imap
