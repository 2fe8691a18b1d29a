#include "tern/directory/mailbox_transfer.hpp"

#include "tern/core/json.hpp"

#include <cctype>

#include <fmt/format.h>

#include "tern/directory/address.hpp"
#include "tern/directory/snapshot_edit.hpp"
#include "tern/mime/smtp_address.hpp"
#include "lib/directory/json_reader.hpp"

namespace tern::directory {

using detail::Json;

std::vector<MailboxRecord> export_mailboxes(const DirectorySnapshot& d) {
  std::vector<MailboxRecord> out;
  for (const auto& m : d.mailboxes) {
    MailboxRecord r{m.name, m.domain, m.owner, m.owner_type, {}, m.active};
    for (const auto& a : d.aliases)
      if (a.targets.size() == 1 && a.targets[0] == m.address()) r.aliases.push_back(a.address());
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string o = "\"";
  for (char c : s) {
    if (c == '"') o += "\"\"";
    else o.push_back(c);
  }
  return o + "\"";
}

tl::unexpected<Error> bad(std::string m) { return fail(ErrorCategory::invalid_argument, std::move(m)); }

// ---- CSV (RFC 4180 quoting) ----
Result<std::vector<std::vector<std::string>>> parse_csv(std::string_view text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, in_quotes = false, any = false;
  std::size_t line = 1;
  auto end_row = [&]() {
    if (any || !field.empty() || !row.empty()) {
      row.push_back(std::move(field));
      rows.push_back(std::move(row));
    }
    row.clear();
    field.clear();
    any = quoted = false;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
    } else if (c == '"' && field.empty() && !quoted) {
      in_quotes = quoted = any = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      quoted = false;
      any = true;
    } else if (c == '\n') {
      end_row();
      ++line;
    } else if (c != '\r') {
      field.push_back(c);
      any = true;
    }
    if (field.size() > 65536) return bad(fmt::format("line {}: field too long", line));
    if (rows.size() > kMaxTransferRecords + 1) return bad("too many records");
  }
  if (in_quotes) return bad(fmt::format("line {}: unterminated quoted field", line));
  end_row();
  return rows;
}

bool parse_bool(std::string_view s, bool& out) {
  auto l = to_lower(s);
  if (l == "true" || l == "1" || l == "yes") return out = true, true;
  if (l == "false" || l == "0" || l == "no") return out = false, true;
  return false;
}

}  // namespace

std::string render_mailboxes(const std::vector<MailboxRecord>& records, TransferFormat format) {
  std::string o;
  if (format == TransferFormat::csv) {
    o = "name,domain,owner,owner type,aliases,active\n";
    for (const auto& r : records) {
      std::string aliases;
      for (const auto& a : r.aliases) aliases += (aliases.empty() ? "" : " ") + a;
      o += fmt::format("{},{},{},{},{},{}\n", csv_field(r.name), csv_field(r.domain), csv_field(r.owner),
                       to_string(r.owner_type), csv_field(aliases), r.active ? "true" : "false");
    }
    return o;
  }
  o = "[";
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    o += i ? ",\n " : "\n ";
    o += fmt::format(R"({{"name": {}, "domain": {}, "owner": {}, "ownerType": {}, "aliases": [)", json_string(r.name),
                     json_string(r.domain), json_string(r.owner), json_string(to_string(r.owner_type)));
    for (std::size_t k = 0; k < r.aliases.size(); ++k) {
      auto parts = mime::split_address(r.aliases[k]);
      o += fmt::format(R"({}{{"name": {}, "domain": {}}})", k ? ", " : "",
                       json_string(parts ? std::string(parts->local) : r.aliases[k]),
                       json_string(parts ? std::string(parts->domain) : std::string()));
    }
    o += fmt::format("], \"active\": {}}}", r.active ? "true" : "false");
  }
  o += records.empty() ? "]\n" : "\n]\n";
  return o;
}

Result<std::vector<MailboxRecord>> parse_mailboxes(std::string_view text, TransferFormat format) {
  if (text.size() > kMaxTransferBytes) return bad("the import is larger than 64 MiB");
  std::vector<MailboxRecord> out;
  if (format == TransferFormat::csv) {
    auto rows = parse_csv(text);
    if (!rows) return fail(rows.error());
    std::size_t n = 0;
    for (auto& row : *rows) {
      ++n;
      if (n == 1 && !row.empty() && to_lower(row[0]) == "name") continue;  // header
      if (row.size() == 1 && row[0].empty()) continue;
      if (row.size() < 4 || row.size() > 6)
        return bad(fmt::format("record {}: expected name,domain,owner,owner type[,aliases[,active]]", n));
      MailboxRecord r;
      r.name = to_lower(row[0]);
      r.domain = to_lower(row[1]);
      r.owner = to_lower(row[2]);
      auto t = parse_owner_type(to_lower(row[3]));
      if (!t) return bad(fmt::format("record {}: owner type '{}' is not user, group or app", n, row[3]));
      r.owner_type = *t;
      if (row.size() >= 5) {
        std::string_view al = row[4];
        while (!al.empty()) {
          auto sp = al.find(' ');
          auto tok = al.substr(0, sp);
          if (!tok.empty()) r.aliases.push_back(to_lower(tok));
          al = sp == std::string_view::npos ? std::string_view() : al.substr(sp + 1);
        }
      }
      if (row.size() == 6 && !parse_bool(row[5], r.active))
        return bad(fmt::format("record {}: active must be true or false, not '{}'", n, row[5]));
      out.push_back(std::move(r));
    }
    return out;
  }
  auto parsed = detail::parse_json(text, 16, kMaxTransferRecords);
  if (!parsed) return bad(parsed.error().message);
  const Json& root = *parsed;
  if (root.type != Json::array) return bad("JSON: expected an array of mailboxes");
  std::size_t n = 0;
  for (const auto& item : root.items) {
    ++n;
    if (item.type != Json::object) return bad(fmt::format("record {}: expected an object", n));
    auto str = [&](std::string_view k, std::string& dst, bool required) -> Status {
      const Json* v = item.get(k);
      if (!v) return required ? Status(bad(fmt::format("record {}: '{}' is missing", n, k))) : Status{};
      if (v->type != Json::string) return bad(fmt::format("record {}: '{}' must be a string", n, k));
      dst = to_lower(v->s);
      return {};
    };
    MailboxRecord r;
    std::string type = "user";
    if (auto st = str("name", r.name, true); !st) return fail(st.error());
    if (auto st = str("domain", r.domain, true); !st) return fail(st.error());
    if (auto st = str("owner", r.owner, true); !st) return fail(st.error());
    if (auto st = str("ownerType", type, false); !st) return fail(st.error());
    auto t = parse_owner_type(type);
    if (!t) return bad(fmt::format("record {}: ownerType '{}' is not user, group or app", n, type));
    r.owner_type = *t;
    if (const Json* a = item.get("aliases")) {
      if (a->type != Json::array) return bad(fmt::format("record {}: 'aliases' must be an array", n));
      for (const auto& al : a->items) {
        const Json* an = al.get("name");
        const Json* ad = al.get("domain");
        if (al.type != Json::object || !an || !ad || an->type != Json::string || ad->type != Json::string)
          return bad(fmt::format("record {}: each alias needs a name and a domain", n));
        r.aliases.push_back(to_lower(an->s + "@" + ad->s));
      }
    }
    if (const Json* a = item.get("active")) {
      if (a->type != Json::boolean) return bad(fmt::format("record {}: 'active' must be true or false", n));
      r.active = a->b;
    }
    out.push_back(std::move(r));
  }
  return out;
}

Status import_mailboxes(DirectorySnapshot& d, const std::vector<MailboxRecord>& records, char sep) {
  std::size_t n = 0;
  for (const auto& r : records) {
    ++n;
    auto wrap = [&](const Error& e) { return fail(e.category, fmt::format("record {} ({}@{}): {}", n, r.name, r.domain, e.message)); };
    if (!d.find_domain(r.domain)) {
      if (auto st = edit::add_domain(d, r.domain); !st) return wrap(st.error());
    }
    if (r.owner_type == OwnerType::user && !d.find_user(r.owner)) {
      if (auto st = validate_user_name(r.owner); !st) return wrap(st.error());
      d.users.push_back(User{r.owner, "", true, ""});
    }
    Mailbox mb;
    mb.name = r.name;
    mb.domain = r.domain;
    mb.owner = r.owner;
    mb.owner_type = r.owner_type;
    mb.active = r.active;
    if (auto st = edit::add_mailbox(d, mb, sep); !st) return wrap(st.error());
    for (const auto& a : r.aliases) {
      auto addr = parse_address(a);
      if (!addr) return wrap(addr.error());
      if (!d.find_domain(addr->domain)) {
        if (auto st = edit::add_domain(d, addr->domain); !st) return wrap(st.error());
      }
      if (auto st = edit::add_alias(d, a, {mb.address()}, sep); !st) return wrap(st.error());
    }
  }
  return {};
}

}  // namespace tern::directory
