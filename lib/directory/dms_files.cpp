// docker-mailserver's account, alias and master files, read as Postfix/Dovecot read them.
#include <algorithm>

#include <fmt/format.h>

#include "tern/directory/address.hpp"
#include "tern/directory/file_directory.hpp"
#include "tern/mime/smtp_address.hpp"

namespace tern::directory {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Calls fn(line_number, line) for each non-empty, non-comment line.
template <class Fn>
void for_lines(std::string_view text, Fn fn) {
  int n = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++n;
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    fn(n, line);
  }
}

}  // namespace

void parse_postfix_accounts(std::string_view text, const std::string& file, DmsData& out) {
  for_lines(text, [&](int n, std::string_view line) {
    // user@domain|{SCHEME}hash[|extra fields docker-mailserver may append]
    auto bar = line.find('|');
    if (bar == std::string_view::npos) {
      out.warnings.push_back(fmt::format("{}:{}: expected user@domain|{{SCHEME}}hash", file, n));
      return;
    }
    auto a = parse_address(trim(line.substr(0, bar)));
    if (!a) {
      out.warnings.push_back(fmt::format("{}:{}: {}", file, n, a.error().message));
      return;
    }
    auto rest = line.substr(bar + 1);
    auto hash = trim(rest.substr(0, rest.find('|')));
    if (hash.empty()) {
      out.warnings.push_back(fmt::format("{}:{}: {} has no password hash", file, n, a->str()));
      return;
    }
    Mailbox m;
    m.name = a->local;
    m.domain = a->domain;
    m.owner_type = OwnerType::user;
    m.password_hash = std::string(hash);
    out.accounts.push_back(std::move(m));
  });
}

void parse_postfix_virtual(std::string_view text, const std::string& file, DmsData& out) {
  for_lines(text, [&](int n, std::string_view line) {
    // Postfix virtual(5): "pattern result", result = addresses separated by commas and/or spaces.
    auto sp = line.find_first_of(" \t");
    if (sp == std::string_view::npos) {
      out.warnings.push_back(fmt::format("{}:{}: expected 'alias@domain target[, target...]'", file, n));
      return;
    }
    auto key = line.substr(0, sp);
    std::vector<std::string> targets;
    std::string_view rest = line.substr(sp);
    std::string cur;
    auto flush = [&]() -> bool {
      if (cur.empty()) return true;
      auto t = parse_address(cur);
      cur.clear();
      if (!t) {
        out.warnings.push_back(fmt::format("{}:{}: {}", file, n, t.error().message));
        return false;
      }
      if (std::find(targets.begin(), targets.end(), t->str()) == targets.end()) targets.push_back(t->str());
      return true;
    };
    for (char c : rest) {
      if (c == ',' || c == ' ' || c == '\t') {
        if (!flush()) return;
      } else {
        cur.push_back(c);
      }
    }
    if (!flush()) return;
    if (targets.empty()) {
      out.warnings.push_back(fmt::format("{}:{}: no target address", file, n));
      return;
    }
    if (key.size() > 1 && key.front() == '@') {
      out.catch_alls.emplace_back(mime::canonical_domain(key.substr(1)), std::move(targets));  // as parse_address keys it
      return;
    }
    auto a = parse_address(key);
    if (!a) {
      out.warnings.push_back(fmt::format("{}:{}: {}", file, n, a.error().message));
      return;
    }
    out.aliases.push_back(Alias{a->local, a->domain, std::move(targets)});
  });
}

void parse_dovecot_masters(std::string_view text, const std::string& file, DmsData& out) {
  for_lines(text, [&](int n, std::string_view line) {
    auto bar = line.find('|');
    if (bar == std::string_view::npos || bar == 0) {
      out.warnings.push_back(fmt::format("{}:{}: expected name|{{SCHEME}}hash", file, n));
      return;
    }
    auto rest = line.substr(bar + 1);
    out.masters.push_back(MasterUser{std::string(trim(line.substr(0, bar))), std::string(trim(rest.substr(0, rest.find('|'))))});
  });
}

void merge_dms(DirectorySnapshot& into, const DmsData& dms, std::vector<std::string>& warnings) {
  auto ensure_domain = [&](const std::string& name) -> Domain* {
    if (Domain* d = into.find_domain(name)) return d;
    into.domains.push_back(Domain{name, true, {}});
    return &into.domains.back();
  };
  auto taken = [&](const std::string& local, const std::string& domain) {
    return into.find_mailbox(local, domain) || into.find_list(local, domain) || into.find_alias(local, domain);
  };
  for (const auto& m : dms.accounts) {
    if (taken(m.name, m.domain)) {
      warnings.push_back(fmt::format("postfix-accounts.cf: {} is already defined in directory.toml; skipped", m.address()));
      continue;
    }
    ensure_domain(m.domain);
    into.mailboxes.push_back(m);
  }
  for (const auto& a : dms.aliases) {
    if (taken(a.name, a.domain)) {
      warnings.push_back(fmt::format("postfix-virtual.cf: {} is already a mailbox, list or alias; skipped", a.address()));
      continue;
    }
    ensure_domain(a.domain);
    into.aliases.push_back(a);
  }
  for (const auto& [domain, targets] : dms.catch_alls) {
    Domain* d = ensure_domain(domain);
    if (!d->catch_all.empty()) {
      warnings.push_back(fmt::format("postfix-virtual.cf: @{} has a catch-all in directory.toml already; skipped", domain));
      continue;
    }
    d->catch_all = targets;
  }
  for (const auto& m : dms.masters) {
    if (into.find_master(m.name)) {
      warnings.push_back(fmt::format("dovecot-masters.cf: master user {} is defined twice; skipped", m.name));
      continue;
    }
    into.masters.push_back(m);
  }
}

}  // namespace tern::directory
