// ternctl command groups for lib/directory and lib/auth: domain, user, alias, list, mailbox.
// They parse arguments and call the library; passwords come from stdin or a prompt, never argv.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "apps/ternctl/ctl.hpp"
#include "tern/core/json.hpp"
#include "tern/auth/auth_config.hpp"
#include "tern/auth/password_scheme.hpp"
#include "tern/directory/address.hpp"
#include "tern/directory/directory_config.hpp"
#include "tern/directory/file_directory.hpp"
#include "tern/directory/mailbox_transfer.hpp"
#include "tern/directory/snapshot_edit.hpp"
#include "tern/mailauth/disclaimer_store.hpp"

namespace {

namespace dir = tern::directory;
namespace auth = tern::auth;
using Args = std::vector<std::string>;

struct Env {
  dir::DirectoryConfig dcfg;
  auth::AuthConfig acfg;
  std::unique_ptr<dir::Directory> directory;
  dir::DirectoryEditor* editor = nullptr;
};

int failed(const std::string& msg) {
  std::fprintf(stderr, "ternctl: %s\n", msg.c_str());
  return ternctl::kFailed;
}

int usage(const char* text) {
  std::fprintf(stderr, "usage: %s\n", text);
  return ternctl::kUsage;
}

// Reads [directory] and [auth] and opens the directory.
int open_env(ternctl::Context& ctx, Env& env) {
  auto data_dir = ctx.data_dir();
  if (!data_dir) return ternctl::kFailed;
  if (auto s = ctx.section("directory")) {
    if (auto st = dir::parse_directory_config(*s, env.dcfg); !st) return failed(st.error().message);
  }
  if (auto s = ctx.section("auth")) {
    if (auto st = auth::parse_auth_config(*s, env.acfg); !st) return failed(st.error().message);
  }
  if (!ctx.diagnostics.ok()) return failed(ctx.diagnostics.to_string());
  if (env.dcfg.backend == "file") {
    dir::FileDirectoryOptions o;
    o.file = dir::directory_file(env.dcfg, *data_dir);
    o.dms_dir = env.dcfg.dms_dir;
    o.resolve = env.dcfg.resolve;
    o.check_interval = std::chrono::milliseconds(0);
    auto d = dir::FileDirectory::open(std::move(o));
    if (!d) return failed(d.error().message);
    env.editor = d->get();
    env.directory = std::move(*d);
  } else {
    auto d = dir::open_directory(env.dcfg, *data_dir);
    if (!d) return failed(d.error().message);
    env.directory = std::move(*d);
  }
  return ternctl::kOk;
}

int edit(Env& env, const std::function<tern::Status(dir::DirectorySnapshot&)>& fn) {
  if (!env.editor) return failed("the LDAP directory is read-only here; change it with your LDAP tools");
  if (auto st = env.editor->apply(fn); !st) return failed(st.error().message);
  return ternctl::kOk;
}

std::string js(std::string_view s) { return tern::json_string(s); }

std::string js(const std::vector<std::string>& v) {
  std::string o = "[";
  for (std::size_t i = 0; i < v.size(); ++i) o += (i ? ", " : "") + js(v[i]);
  return o + "]";
}

std::string join(const std::vector<std::string>& v, std::string_view sep = ", ") {
  std::string o;
  for (std::size_t i = 0; i < v.size(); ++i) o += (i ? std::string(sep) : "") + v[i];
  return o;
}

// Prints {"ok": true, "message": ...} or the human sentence.
int done(const ternctl::Context& ctx, const std::string& message) {
  if (ctx.json) std::printf("{\"ok\": true, \"message\": %s}\n", js(message).c_str());
  else std::printf("%s\n", message.c_str());
  return ternctl::kOk;
}

std::optional<std::string> new_password_hash(const Env& env, const std::string& address) {
  auto pw = ternctl::read_secret(fmt::format("Password for {}: ", address));
  if (!pw) {
    failed("no password given on stdin");
    return std::nullopt;
  }
  if (pw->empty()) {
    failed("the password is empty");
    return std::nullopt;
  }
  auto h = auth::hash_password(*pw, env.acfg.password_scheme);
  std::fill(pw->begin(), pw->end(), '\0');
  if (!h) {
    failed(h.error().message);
    return std::nullopt;
  }
  return *h;
}

std::shared_ptr<const dir::DirectorySnapshot> snap(Env& env) {
  auto s = env.directory->snapshot();
  if (!s) {
    failed(s.error().message);
    return nullptr;
  }
  return *s;
}

bool flag(Args& a, std::string_view name) {
  auto it = std::find(a.begin(), a.end(), name);
  if (it == a.end()) return false;
  a.erase(it);
  return true;
}

// ---- domain ------------------------------------------------------------------------------
constexpr const char* kDomainUsage =
    "ternctl domain add DOMAIN [--no-incoming] | del DOMAIN [--force] | list | "
    "incoming DOMAIN on|off | catch-all DOMAIN [ADDRESS...] | max-size DOMAIN SIZE|default | "
    "disclaimer DOMAIN [--text FILE [--html FILE] | --off]   (FILE - reads stdin)";

// ---- domain disclaimer: files in [disclaimer] dir, read by the server for outbound mail ---------------
int run_domain_disclaimer(ternctl::Context& ctx, Args a) {
  constexpr const char* kUsage = "ternctl domain disclaimer DOMAIN [--text FILE [--html FILE] | --off]";
  auto take = [&](std::string_view name) -> std::optional<std::string> {
    auto it = std::find(a.begin(), a.end(), name);
    if (it == a.end() || it + 1 == a.end()) return std::nullopt;
    std::string v = *(it + 1);
    a.erase(it, it + 2);
    return v;
  };
  auto text_file = take("--text");
  auto html_file = take("--html");
  bool off = flag(a, "--off");
  if (a.size() != 1 || a[0].rfind("--", 0) == 0 || (off && (text_file || html_file)) || (html_file && !text_file))
    return usage(kUsage);
  std::string domain = dir::to_lower(a[0]);
  auto data_dir = ctx.data_dir();
  if (!data_dir) return ternctl::kFailed;
  tern::mailauth::DisclaimerConfig cfg;
  if (auto s = ctx.section("disclaimer")) (void)tern::mailauth::parse_disclaimer_config(*s, cfg);
  if (!ctx.diagnostics.ok()) return failed(ctx.diagnostics.to_string());
  if (cfg.dir.empty()) cfg.dir = *data_dir / "disclaimer";
  using Store = tern::mailauth::DisclaimerStore;
  if (off) {
    if (auto st = Store::remove(cfg.dir, domain); !st) return failed(st.error().message);
    return done(ctx, fmt::format("outbound mail of {} leaves without a disclaimer", domain));
  }
  if (!text_file) {
    auto d = Store::read(cfg.dir, domain);
    if (!d) return failed(d.error().message);
    if (ctx.json) {
      std::printf("{\"domain\": %s, \"enabled\": %s, \"text\": %s, \"html\": %s}\n", js(domain).c_str(),
                  *d ? "true" : "false", js(*d ? (*d)->text : "").c_str(), js(*d ? (*d)->html : "").c_str());
    } else if (!*d) {
      std::printf("%s has no disclaimer\n", domain.c_str());
    } else {
      std::printf("text (%s):\n%s\n", Store::text_file(cfg.dir, domain).c_str(), (*d)->text.c_str());
      if (!(*d)->html.empty())
        std::printf("html (%s):\n%s\n", Store::html_file(cfg.dir, domain).c_str(), (*d)->html.c_str());
    }
    return ternctl::kOk;
  }
  // Only a domain of this server sends mail that could carry it.
  Env env;
  if (int rc = open_env(ctx, env)) return rc;
  auto s = env.directory->snapshot();
  if (!s) return failed(s.error().message);
  if (!(*s)->find_domain(domain)) return failed(fmt::format("{} is not a domain of this server (ternctl domain add)", domain));
  std::string error;
  auto text = ternctl::read_input(*text_file, error);
  if (!text) return failed(error);
  std::string html;
  if (html_file) {
    auto h = ternctl::read_input(*html_file, error);
    if (!h) return failed(error);
    html = std::move(*h);
  }
  if (auto st = Store::install(cfg.dir, domain, *text, html); !st) return failed(st.error().message);
  return done(ctx, fmt::format("outbound mail of {} gets the disclaimer (text{})", domain, html.empty() ? "" : " and HTML"));
}

int run_domain(ternctl::Context& ctx, const Args& args_in) {
  Args a = args_in;
  if (a.empty()) return usage(kDomainUsage);
  std::string cmd = a[0];
  a.erase(a.begin());
  if (cmd == "disclaimer") return run_domain_disclaimer(ctx, a);
  bool no_incoming = flag(a, "--no-incoming");
  bool force = flag(a, "--force");
  for (const auto& x : a)
    if (x.rfind("--", 0) == 0) return usage(kDomainUsage);
  Env env;
  if (cmd == "add" && a.size() == 1) {
    if (int rc = open_env(ctx, env)) return rc;
    if (int rc = edit(env, [&](auto& d) { return dir::edit::add_domain(d, a[0], !no_incoming); })) return rc;
    return done(ctx, fmt::format("domain {} added", dir::to_lower(a[0])));
  }
  if (cmd == "del" && a.size() == 1) {
    if (int rc = open_env(ctx, env)) return rc;
    if (int rc = edit(env, [&](auto& d) { return dir::edit::remove_domain(d, a[0], force); })) return rc;
    return done(ctx, fmt::format("domain {} removed", dir::to_lower(a[0])));
  }
  if (cmd == "incoming" && a.size() == 2 && (a[1] == "on" || a[1] == "off")) {
    if (int rc = open_env(ctx, env)) return rc;
    if (int rc = edit(env, [&](auto& d) { return dir::edit::set_domain_incoming(d, a[0], a[1] == "on"); })) return rc;
    return done(ctx, fmt::format("incoming mail for {} {}", dir::to_lower(a[0]), a[1] == "on" ? "enabled" : "disabled"));
  }
  if (cmd == "max-size" && a.size() == 2) {
    std::uint64_t bytes = 0;
    if (a[1] != "default") {
      auto size = tern::parse_size(a[1]);
      if (!size || *size < 1024) {
        std::fprintf(stderr, "ternctl: %s: not a size of at least 1K (e.g. 10M, 512K, 1G)\n", a[1].c_str());
        return ternctl::kUsage;
      }
      bytes = *size;
    }
    if (int rc = open_env(ctx, env)) return rc;
    if (int rc = edit(env, [&](auto& d) { return dir::edit::set_domain_max_message_size(d, a[0], bytes); })) return rc;
    return done(ctx, bytes ? fmt::format("messages to {} may be up to {} bytes", dir::to_lower(a[0]), bytes)
                           : fmt::format("messages to {} follow the server's size limit", dir::to_lower(a[0])));
  }
  if (cmd == "catch-all" && !a.empty()) {
    if (int rc = open_env(ctx, env)) return rc;
    Args targets(a.begin() + 1, a.end());
    if (int rc = edit(env, [&](auto& d) { return dir::edit::set_catch_all(d, a[0], targets); })) return rc;
    return done(ctx, targets.empty() ? fmt::format("catch-all of {} removed (unknown addresses bounce)", a[0])
                                     : fmt::format("catch-all of {}: {}", a[0], join(targets)));
  }
  if (cmd == "list" && a.empty()) {
    if (int rc = open_env(ctx, env)) return rc;
    auto s = snap(env);
    if (!s) return ternctl::kFailed;
    if (ctx.json) {
      std::printf("[");
      for (std::size_t i = 0; i < s->domains.size(); ++i) {
        const auto& d = s->domains[i];
        std::printf("%s{\"name\": %s, \"incoming\": %s, \"catch_all\": %s, \"max_message_size\": %llu}", i ? ", " : "",
                    js(d.name).c_str(), d.incoming ? "true" : "false", js(d.catch_all).c_str(),
                    static_cast<unsigned long long>(d.max_message_size));
      }
      std::printf("]\n");
    } else {
      for (const auto& d : s->domains)
        std::printf("%s%s%s\n", d.name.c_str(), d.incoming ? "" : " (incoming disabled)",
                    d.catch_all.empty() ? "" : fmt::format(" catch-all: {}", join(d.catch_all)).c_str());
    }
    return ternctl::kOk;
  }
  return usage(kDomainUsage);
}

// ---- user --------------------------------------------------------------------------------
constexpr const char* kUserUsage =
    "ternctl user add ADDRESS | del ADDRESS | list [DOMAIN] | passwd ADDRESS | quota ADDRESS SIZE|none [MESSAGES]   "
    "(the password is read from stdin, or prompted for on a terminal)";

int run_user(ternctl::Context& ctx, const Args& a) {
  if (a.empty()) return usage(kUserUsage);
  for (const auto& x : a)
    if (x.rfind("--", 0) == 0) return usage(kUserUsage);
  Env env;
  const std::string& cmd = a[0];
  if ((cmd == "add" || cmd == "passwd") && a.size() == 2) {
    if (int rc = open_env(ctx, env)) return rc;
    if (!env.editor) return failed("the LDAP directory is read-only here; change it with your LDAP tools");
    auto addr = dir::parse_address(a[1]);
    if (!addr) return failed(addr.error().message);
    if (cmd == "add") {
      // Check the name before asking for a password.
      if (auto st = dir::validate_mailbox_name(addr->local, dir::NameKind::user_mailbox,
                                               env.dcfg.resolve.subaddress_separator);
          !st)
        return failed(st.error().message);
    }
    auto hash = new_password_hash(env, addr->str());
    if (!hash) return ternctl::kFailed;
    char sep = env.dcfg.resolve.subaddress_separator;
    if (cmd == "add") {
      if (int rc = edit(env, [&](auto& d) { return dir::edit::add_user_mailbox(d, addr->str(), *hash, sep); })) return rc;
      return done(ctx, fmt::format("user {} added", addr->str()));
    }
    if (int rc = edit(env, [&](auto& d) { return dir::edit::set_password(d, addr->str(), *hash); })) return rc;
    return done(ctx, fmt::format("password of {} changed", addr->str()));
  }
  if (cmd == "quota" && (a.size() == 3 || a.size() == 4)) {
    dir::Quota quota;
    if (a[2] != "none") {
      auto size = tern::parse_size(a[2]);
      if (!size) return failed(fmt::format("{}: not a size (e.g. 500M, 2G) or none", a[2]));
      quota.bytes = *size;
    }
    if (a.size() == 4) {
      auto n = tern::parse_size(a[3]);  // a bare count
      if (!n || a[3].find_first_not_of("0123456789") != std::string::npos)
        return failed(fmt::format("{}: not a message count", a[3]));
      quota.messages = *n;
    }
    if (int rc = open_env(ctx, env)) return rc;
    if (int rc = edit(env, [&](auto& d) { return dir::edit::set_mailbox_quota(d, a[1], quota); })) return rc;
    return done(ctx, fmt::format("quota of {}: {} bytes, {} messages", dir::to_lower(a[1]),
                                 quota.bytes ? std::to_string(quota.bytes) : "unlimited",
                                 quota.messages ? std::to_string(quota.messages) : "unlimited"));
  }
  if (cmd == "del" && a.size() == 2) {
    if (int rc = open_env(ctx, env)) return rc;
    if (int rc = edit(env, [&](auto& d) { return dir::edit::remove_user_mailbox(d, a[1]); })) return rc;
    return done(ctx, fmt::format("user {} removed", dir::to_lower(a[1])));
  }
  if (cmd == "list" && a.size() <= 2) {
    if (int rc = open_env(ctx, env)) return rc;
    auto s = snap(env);
    if (!s) return ternctl::kFailed;
    std::string domain = a.size() == 2 ? dir::to_lower(a[1]) : "";
    bool first = true;
    if (ctx.json) std::printf("[");
    for (const auto& m : s->mailboxes) {
      if (!domain.empty() && m.domain != domain) continue;
      if (ctx.json) {
        std::printf("%s{\"address\": %s, \"owner\": %s, \"owner_type\": %s, \"active\": %s}", first ? "" : ", ",
                    js(m.address()).c_str(), js(m.owner).c_str(), js(dir::to_string(m.owner_type)).c_str(),
                    m.active ? "true" : "false");
      } else {
        std::printf("%s%s\n", m.address().c_str(), m.active ? "" : " (disabled)");
      }
      first = false;
    }
    if (ctx.json) std::printf("]\n");
    return ternctl::kOk;
  }
  return usage(kUserUsage);
}

// ---- alias -------------------------------------------------------------------------------
constexpr const char* kAliasUsage = "ternctl alias add ALIAS TARGET... | del ALIAS | list [DOMAIN]";

int run_alias(ternctl::Context& ctx, const Args& a) {
  if (a.empty()) return usage(kAliasUsage);
  Env env;
  const std::string& cmd = a[0];
  if (cmd == "add" && a.size() >= 3) {
    if (int rc = open_env(ctx, env)) return rc;
    Args targets(a.begin() + 2, a.end());
    char sep = env.dcfg.resolve.subaddress_separator;
    if (int rc = edit(env, [&](auto& d) { return dir::edit::add_alias(d, a[1], targets, sep); })) return rc;
    return done(ctx, fmt::format("alias {} -> {}", dir::to_lower(a[1]), join(targets)));
  }
  if (cmd == "del" && a.size() == 2) {
    if (int rc = open_env(ctx, env)) return rc;
    if (int rc = edit(env, [&](auto& d) { return dir::edit::remove_alias(d, a[1]); })) return rc;
    return done(ctx, fmt::format("alias {} removed", dir::to_lower(a[1])));
  }
  if (cmd == "list" && a.size() <= 2) {
    if (int rc = open_env(ctx, env)) return rc;
    auto s = snap(env);
    if (!s) return ternctl::kFailed;
    std::string domain = a.size() == 2 ? dir::to_lower(a[1]) : "";
    bool first = true;
    if (ctx.json) std::printf("[");
    for (const auto& al : s->aliases) {
      if (!domain.empty() && al.domain != domain) continue;
      if (ctx.json)
        std::printf("%s{\"alias\": %s, \"targets\": %s}", first ? "" : ", ", js(al.address()).c_str(), js(al.targets).c_str());
      else std::printf("%s -> %s\n", al.address().c_str(), join(al.targets).c_str());
      first = false;
    }
    if (ctx.json) std::printf("]\n");
    return ternctl::kOk;
  }
  return usage(kAliasUsage);
}

// ---- list --------------------------------------------------------------------------------
constexpr const char* kListUsage =
    "ternctl list add ADDRESS [--members-only] [MEMBER...] | del ADDRESS | "
    "members ADDRESS [--add MEMBER...|--remove MEMBER...|--set MEMBER...]";

int run_list(ternctl::Context& ctx, const Args& args_in) {
  Args a = args_in;
  if (a.empty()) return usage(kListUsage);
  Env env;
  std::string cmd = a[0];
  if (cmd == "add" && a.size() >= 2) {
    bool members_only = flag(a, "--members-only");
    for (const auto& x : a)
      if (x.rfind("--", 0) == 0) return usage(kListUsage);
    if (int rc = open_env(ctx, env)) return rc;
    Args members(a.begin() + 2, a.end());
    char sep = env.dcfg.resolve.subaddress_separator;
    if (int rc = edit(env, [&](auto& d) { return dir::edit::add_list(d, a[1], members, members_only, sep); })) return rc;
    return done(ctx, fmt::format("list {} added with {} member(s)", dir::to_lower(a[1]), members.size()));
  }
  if (cmd == "del" && a.size() == 2) {
    if (int rc = open_env(ctx, env)) return rc;
    if (int rc = edit(env, [&](auto& d) { return dir::edit::remove_list(d, a[1]); })) return rc;
    return done(ctx, fmt::format("list {} removed", dir::to_lower(a[1])));
  }
  if (cmd == "members" && a.size() >= 2) {
    if (int rc = open_env(ctx, env)) return rc;
    auto addr = dir::parse_address(a[1]);
    if (!addr) return failed(addr.error().message);
    if (a.size() > 2) {
      const std::string& op = a[2];
      if (op != "--add" && op != "--remove" && op != "--set") return usage(kListUsage);
      Args given(a.begin() + 3, a.end());
      if (op != "--set" && given.empty()) return usage(kListUsage);
      if (int rc = edit(env, [&](dir::DirectorySnapshot& d) -> tern::Status {
            auto* l = d.find_list(addr->local, addr->domain);
            if (!l) return tern::fail(tern::ErrorCategory::not_found, fmt::format("no list {}", addr->str()));
            std::vector<std::string> members = op == "--set" ? Args{} : l->members;
            for (const auto& g : given) {
              auto m = dir::parse_address(g);
              if (!m) return tern::fail(m.error());
              std::erase(members, m->str());
              if (op != "--remove") members.push_back(m->str());
            }
            return dir::edit::set_list_members(d, addr->str(), members);
          }))
        return rc;
    }
    auto s = snap(env);
    if (!s) return ternctl::kFailed;
    const auto* l = s->find_list(addr->local, addr->domain);
    if (!l) return failed(fmt::format("no list {}", addr->str()));
    if (ctx.json)
      std::printf("{\"list\": %s, \"members_only\": %s, \"members\": %s}\n", js(l->address()).c_str(),
                  l->members_only ? "true" : "false", js(l->members).c_str());
    else
      for (const auto& m : l->members) std::printf("%s\n", m.c_str());
    return ternctl::kOk;
  }
  if (cmd == "list" && a.size() == 1) {
    if (int rc = open_env(ctx, env)) return rc;
    auto s = snap(env);
    if (!s) return ternctl::kFailed;
    if (ctx.json) std::printf("[");
    for (std::size_t i = 0; i < s->lists.size(); ++i) {
      const auto& l = s->lists[i];
      if (ctx.json)
        std::printf("%s{\"list\": %s, \"members_only\": %s, \"members\": %s}", i ? ", " : "", js(l.address()).c_str(),
                    l.members_only ? "true" : "false", js(l.members).c_str());
      else
        std::printf("%s (%zu members%s)\n", l.address().c_str(), l.members.size(), l.members_only ? ", members only" : "");
    }
    if (ctx.json) std::printf("]\n");
    return ternctl::kOk;
  }
  return usage(kListUsage);
}

// ---- mailbox import/export ---------------------------------------------------------------
constexpr const char* kMailboxUsage =
    "ternctl mailbox import --format csv|json [FILE|-] | export --format csv|json | check|reindex USER";

int run_mailbox(ternctl::Context& ctx, const Args& args_in) {
  Args a = args_in;
  if (a.empty()) return usage(kMailboxUsage);
  if (a[0] == "check" || a[0] == "reindex") return ternctl::store_command(ctx, a);  // the user's mail store
  std::string cmd = a[0];
  a.erase(a.begin());
  std::optional<dir::TransferFormat> format;
  for (std::size_t i = 0; i < a.size(); ++i) {
    std::string v;
    if (a[i] == "--format" && i + 1 < a.size()) {
      v = a[i + 1];
      a.erase(a.begin() + static_cast<std::ptrdiff_t>(i), a.begin() + static_cast<std::ptrdiff_t>(i) + 2);
    } else if (a[i].rfind("--format=", 0) == 0) {
      v = a[i].substr(9);
      a.erase(a.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      continue;
    }
    if (v == "csv") format = dir::TransferFormat::csv;
    else if (v == "json") format = dir::TransferFormat::json;
    else return usage(kMailboxUsage);
    break;
  }
  if (!format) return usage(kMailboxUsage);
  Env env;
  if (cmd == "export" && a.empty()) {
    if (int rc = open_env(ctx, env)) return rc;
    auto s = snap(env);
    if (!s) return ternctl::kFailed;
    std::fputs(dir::render_mailboxes(dir::export_mailboxes(*s), *format).c_str(), stdout);
    return ternctl::kOk;
  }
  if (cmd == "import" && a.size() <= 1) {
    std::string text;
    if (a.empty() || a[0] == "-") {
      std::stringstream ss;
      ss << std::cin.rdbuf();
      text = ss.str();
    } else {
      std::ifstream in(a[0], std::ios::binary);
      if (!in) return failed(fmt::format("cannot read {}", a[0]));
      std::stringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    }
    auto records = dir::parse_mailboxes(text, *format);
    if (!records) return failed(records.error().message);
    if (int rc = open_env(ctx, env)) return rc;
    char sep = env.dcfg.resolve.subaddress_separator;
    if (int rc = edit(env, [&](auto& d) { return dir::import_mailboxes(d, *records, sep); })) return rc;
    return done(ctx, fmt::format("{} mailbox(es) imported", records->size()));
  }
  return usage(kMailboxUsage);
}

const bool registered = [] {
  ternctl::register_group({"domain", "mail domains: add, del, list, incoming, catch-all, max-size, disclaimer", run_domain});
  ternctl::register_group({"user", "users with a mailbox: add, del, list, passwd", run_user});
  ternctl::register_group({"alias", "aliases (with * wildcards): add, del, list", run_alias});
  ternctl::register_group({"list", "mailing lists: add, del, members, list", run_list});
  ternctl::register_group({"mailbox", "import/export mailboxes (Cloudron CSV/JSON); check/reindex a user's mail", run_mailbox});
  return true;
}();

}  // namespace
