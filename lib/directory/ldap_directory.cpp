#include "tern/directory/ldap_directory.hpp"

#define LDAP_DEPRECATED 0
#include <ldap.h>
#include <sys/time.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "tern/core/log.hpp"
#include "tern/directory/address.hpp"

namespace tern::directory {

namespace {

using Entry = std::map<std::string, std::vector<std::string>>;  // attribute (lower case) -> values

struct LdapResult {
  std::string dn;
  Entry attrs;
  const std::vector<std::string>* get(const std::string& attr) const {
    if (attr.empty()) return nullptr;
    auto it = attrs.find(to_lower(attr));
    return it == attrs.end() || it->second.empty() ? nullptr : &it->second;
  }
  std::string first(const std::string& attr) const {
    auto v = get(attr);
    return v ? v->front() : std::string();
  }
};

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

bool truthy(const std::string& v, bool dflt) {
  if (v.empty()) return dflt;
  auto l = to_lower(v);
  return l == "true" || l == "1" || l == "yes" || l == "on";
}

// DN normalised enough for matching references (lower case, no spaces after separators).
std::string norm_dn(std::string_view dn) {
  std::string out;
  bool after_sep = false;
  for (char c : dn) {
    if (after_sep && c == ' ') continue;
    after_sep = c == ',' || c == '=';
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

tl::unexpected<Error> ldap_error(std::string_view what, int rc) {
  auto cat = (rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT || rc == LDAP_CONNECT_ERROR || rc == LDAP_BUSY ||
              rc == LDAP_UNAVAILABLE)
                 ? ErrorCategory::temporary
                 : ErrorCategory::config;
  return fail(cat, fmt::format("LDAP {}: {}", what, ldap_err2string(rc)), rc);
}

class Connection {
 public:
  explicit Connection(LDAP* ld) : ld_(ld) {}
  ~Connection() {
    if (ld_) ldap_unbind_ext_s(ld_, nullptr, nullptr);
  }
  LDAP* get() const { return ld_; }

 private:
  LDAP* ld_;
};

Result<std::unique_ptr<Connection>> connect(const LdapConfig& c) {
  LDAP* ld = nullptr;
  int rc = ldap_initialize(&ld, c.uri.c_str());
  if (rc != LDAP_SUCCESS) return ldap_error("initialize " + c.uri, rc);
  auto conn = std::make_unique<Connection>(ld);
  int version = LDAP_VERSION3;
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
  ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  timeval tv = to_timeval(c.timeout);
  ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
  ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
  bool tls = c.start_tls || c.uri.rfind("ldaps://", 0) == 0;
  if (tls) {
    if (!c.ca_file.empty()) ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, c.ca_file.c_str());
    int req = c.tls_verify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &req);
    int newctx = 0;
    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &newctx);
  }
  if (c.start_tls) {
    rc = ldap_start_tls_s(ld, nullptr, nullptr);
    if (rc != LDAP_SUCCESS) return ldap_error("StartTLS with " + c.uri, rc);
  }
  return conn;
}

Status simple_bind(LDAP* ld, const std::string& dn, std::string_view password) {
  berval cred{};
  std::string pw(password);
  cred.bv_val = pw.data();
  cred.bv_len = pw.size();
  int rc = ldap_sasl_bind_s(ld, dn.empty() ? nullptr : dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr);
  if (rc != LDAP_SUCCESS) return ldap_error(fmt::format("bind as '{}'", dn), rc);
  return {};
}

// A small pool: up to `size` connections, bound as `dn` (service account) on creation.
class Pool {
 public:
  Pool(const LdapConfig& c, bool service_bind) : cfg_(c), service_bind_(service_bind) {}

  struct Lease {
    Lease(Pool* p, std::unique_ptr<Connection> c) : pool(p), conn(std::move(c)) {}
    Lease(const Lease&) = delete;
    Pool* pool;
    std::unique_ptr<Connection> conn;
    bool healthy = true;
    ~Lease() {
      if (pool) pool->put_back(std::move(conn), healthy);
    }
    LDAP* get() const { return conn->get(); }
  };

  Result<std::unique_ptr<Lease>> acquire() {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, cfg_.timeout, [&] { return !idle_.empty() || open_ < cfg_.pool_size; }))
      return fail(ErrorCategory::temporary, "LDAP: no connection available (pool exhausted)");
    if (!idle_.empty()) {
      auto l = std::make_unique<Lease>(this, std::move(idle_.back()));
      idle_.pop_back();
      return l;
    }
    ++open_;
    lock.unlock();
    auto c = connect(cfg_);
    if (c && service_bind_) {
      if (auto st = simple_bind((*c)->get(), cfg_.bind_dn, cfg_.bind_password); !st) c = fail(st.error());
    }
    if (!c) {
      std::lock_guard g(mu_);
      --open_;
      cv_.notify_one();
      return fail(c.error());
    }
    return std::make_unique<Lease>(this, std::move(*c));
  }

 private:
  void put_back(std::unique_ptr<Connection> c, bool healthy) {
    std::lock_guard g(mu_);
    if (healthy && c) idle_.push_back(std::move(c));
    else --open_;
    cv_.notify_one();
  }
  const LdapConfig& cfg_;
  bool service_bind_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_ = 0;
};

Result<std::vector<LdapResult>> search(Pool& pool, const LdapConfig& c, const std::string& filter,
                                       const std::vector<std::string>& attributes) {
  if (filter.empty()) return std::vector<LdapResult>{};
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto lease = pool.acquire();
    if (!lease) return fail(lease.error());
    std::vector<std::string> attr_names;
    for (const auto& a : attributes)
      if (!a.empty()) attr_names.push_back(a);
    std::vector<char*> attrs;
    for (auto& a : attr_names) attrs.push_back(a.data());
    attrs.push_back(nullptr);
    timeval tv = to_timeval(c.timeout);
    LDAPMessage* res = nullptr;
    int rc = ldap_search_ext_s((*lease)->get(), c.base_dn.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(), attrs.data(), 0,
                               nullptr, nullptr, &tv, 0, &res);
    if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
      if (res) ldap_msgfree(res);
      if (rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT) {
        (*lease)->healthy = false;  // reconnect once: the server may have closed an idle connection
        if (attempt == 0) continue;
      }
      return ldap_error(fmt::format("search {}", filter), rc);
    }
    std::vector<LdapResult> out;
    for (LDAPMessage* e = ldap_first_entry((*lease)->get(), res); e; e = ldap_next_entry((*lease)->get(), e)) {
      LdapResult r;
      if (char* dn = ldap_get_dn((*lease)->get(), e)) {
        r.dn = dn;
        ldap_memfree(dn);
      }
      BerElement* ber = nullptr;
      for (char* a = ldap_first_attribute((*lease)->get(), e, &ber); a; a = ldap_next_attribute((*lease)->get(), e, ber)) {
        berval** vals = ldap_get_values_len((*lease)->get(), e, a);
        auto& dst = r.attrs[to_lower(a)];
        for (int i = 0; vals && vals[i]; ++i) dst.emplace_back(vals[i]->bv_val, vals[i]->bv_len);
        if (vals) ldap_value_free_len(vals);
        ldap_memfree(a);
      }
      if (ber) ber_free(ber, 0);
      out.push_back(std::move(r));
    }
    ldap_msgfree(res);
    return out;
  }
  return fail(ErrorCategory::temporary, "LDAP: search failed");
}

}  // namespace

struct LdapDirectory::Impl {
  LdapConfig cfg;
  Pool service;  // bound as bind_dn: searches
  Pool binder;   // used for user binds (bind-to-authenticate)
  std::mutex mu;
  std::shared_ptr<const DirectorySnapshot> snap;
  std::chrono::steady_clock::time_point loaded{};
  std::mutex refresh_mu;  // one refresh at a time

  // The cached snapshot while younger than cache_ttl, else nullptr. Called with `mu` held.
  std::shared_ptr<const DirectorySnapshot> fresh_locked() const {
    if (snap && std::chrono::steady_clock::now() - loaded < cfg.cache_ttl) return snap;
    return nullptr;
  }

  explicit Impl(const LdapConfig& c) : cfg(c), service(cfg, true), binder(cfg, false) {}

  Result<DirectorySnapshot> load() {
    const auto& c = cfg;
    DirectorySnapshot d;
    std::map<std::string, std::string> user_by_dn, group_by_dn;
    auto users = search(service, c, c.user_filter,
                        {c.user_name_attribute, c.auth == "compare" ? c.user_password_attribute : "", c.user_active_attribute});
    if (!users) return fail(users.error());
    for (const auto& r : *users) {
      auto name = to_lower(r.first(c.user_name_attribute));
      if (name.empty() || d.find_user(name)) continue;
      User u;
      u.name = name;
      u.active = truthy(r.first(c.user_active_attribute), true);
      if (c.auth == "compare") u.password_hash = r.first(c.user_password_attribute);
      else u.ldap_dn = r.dn;
      user_by_dn[norm_dn(r.dn)] = name;
      d.users.push_back(std::move(u));
    }
    auto resolve_member = [&](const std::string& v) -> std::string {
      if (v.find('=') == std::string::npos) return to_lower(v);
      auto it = user_by_dn.find(norm_dn(v));
      return it == user_by_dn.end() ? std::string() : it->second;
    };
    auto groups = search(service, c, c.group_filter, {c.group_name_attribute, c.group_member_attribute});
    if (!groups) return fail(groups.error());
    for (const auto& r : *groups) {
      Group g;
      g.name = to_lower(r.first(c.group_name_attribute));
      if (g.name.empty() || d.find_group(g.name)) continue;
      if (auto m = r.get(c.group_member_attribute))
        for (const auto& v : *m)
          if (auto u = resolve_member(v); !u.empty() && d.find_user(u)) g.members.push_back(u);
      group_by_dn[norm_dn(r.dn)] = g.name;
      d.groups.push_back(std::move(g));
    }
    auto domains = search(service, c, c.domain_filter,
                          {c.domain_name_attribute, c.domain_incoming_attribute, c.domain_catch_all_attribute});
    if (!domains) return fail(domains.error());
    for (const auto& r : *domains) {
      Domain dom;
      dom.name = to_lower(r.first(c.domain_name_attribute));
      if (dom.name.empty() || d.find_domain(dom.name)) continue;
      dom.incoming = truthy(r.first(c.domain_incoming_attribute), true);
      if (auto ca = r.get(c.domain_catch_all_attribute))
        for (const auto& v : *ca) dom.catch_all.push_back(to_lower(v));
      d.domains.push_back(std::move(dom));
    }
    auto ensure_domain = [&](const std::string& name) {
      if (!d.find_domain(name)) d.domains.push_back(Domain{name, true, {}});
    };
    auto mailboxes = search(service, c, c.mailbox_filter,
                            {c.mailbox_address_attribute, c.mailbox_owner_attribute, c.mailbox_owner_type_attribute,
                             c.mailbox_alias_attribute, c.mailbox_active_attribute, c.mailbox_password_attribute});
    if (!mailboxes) return fail(mailboxes.error());
    for (const auto& r : *mailboxes) {
      auto a = parse_address(r.first(c.mailbox_address_attribute));
      if (!a) {
        log::warn("directory.ldap_skipped", {{"dn", r.dn}, {"reason", "no valid mail address"}});
        continue;
      }
      if (d.find_mailbox(a->local, a->domain)) continue;
      Mailbox m;
      m.name = a->local;
      m.domain = a->domain;
      m.active = truthy(r.first(c.mailbox_active_attribute), true);
      m.password_hash = r.first(c.mailbox_password_attribute);
      std::string owner = r.first(c.mailbox_owner_attribute);
      std::string type = to_lower(r.first(c.mailbox_owner_type_attribute));
      if (auto it = user_by_dn.find(norm_dn(owner)); it != user_by_dn.end()) {
        m.owner = it->second;
        m.owner_type = OwnerType::user;
      } else if (auto g = group_by_dn.find(norm_dn(owner)); g != group_by_dn.end()) {
        m.owner = g->second;
        m.owner_type = OwnerType::group;
      } else {
        m.owner = to_lower(owner);
        m.owner_type = parse_owner_type(type).value_or(OwnerType::app);
      }
      if (auto t = parse_owner_type(type)) m.owner_type = *t;
      ensure_domain(m.domain);
      if (auto al = r.get(c.mailbox_alias_attribute))
        for (const auto& v : *al)
          if (auto aa = parse_address(v)) {
            ensure_domain(aa->domain);
            d.aliases.push_back(Alias{aa->local, aa->domain, {m.address()}});
          }
      d.mailboxes.push_back(std::move(m));
    }
    auto lists = search(service, c, c.list_filter,
                        {c.list_address_attribute, c.list_member_attribute, c.list_members_only_attribute,
                         c.list_active_attribute});
    if (!lists) return fail(lists.error());
    for (const auto& r : *lists) {
      auto a = parse_address(r.first(c.list_address_attribute));
      if (!a || d.find_list(a->local, a->domain) || d.find_mailbox(a->local, a->domain)) continue;
      MailingList l;
      l.name = a->local;
      l.domain = a->domain;
      l.members_only = truthy(r.first(c.list_members_only_attribute), false);
      l.active = truthy(r.first(c.list_active_attribute), true);
      if (auto m = r.get(c.list_member_attribute))
        for (const auto& v : *m)
          if (auto ma = parse_address(v)) l.members.push_back(ma->str());
      ensure_domain(l.domain);
      d.lists.push_back(std::move(l));
    }
    // Aliases that shadow a mailbox or list are dropped (a mailbox always wins; Cloudron rule).
    std::erase_if(d.aliases, [&](const Alias& al) {
      return d.find_mailbox(al.name, al.domain) || d.find_list(al.name, al.domain);
    });
    return d;
  }
};

LdapDirectory::LdapDirectory(const LdapConfig& config, ResolveOptions options)
    : options_(options), impl_(std::make_unique<Impl>(config)) {}
LdapDirectory::~LdapDirectory() = default;

Result<std::unique_ptr<LdapDirectory>> LdapDirectory::open(const LdapConfig& config, ResolveOptions options) {
  if (config.base_dn.empty()) return fail(ErrorCategory::config, "LDAP: base_dn is required");
  std::unique_ptr<LdapDirectory> d(new LdapDirectory(config, options));
  if (auto st = d->refresh(); !st) return fail(st.error());
  return d;
}

Status LdapDirectory::refresh() {
  std::lock_guard r(impl_->refresh_mu);
  auto snap = impl_->load();
  if (!snap) return fail(snap.error());
  snap->build_index();
  auto p = std::make_shared<const DirectorySnapshot>(std::move(*snap));
  std::lock_guard g(impl_->mu);
  impl_->snap = std::move(p);
  impl_->loaded = std::chrono::steady_clock::now();
  return {};
}

Result<std::shared_ptr<const DirectorySnapshot>> LdapDirectory::snapshot() {
  auto fresh = [&]() -> std::shared_ptr<const DirectorySnapshot> {
    std::lock_guard g(impl_->mu);
    return impl_->fresh_locked();
  };
  if (auto s = fresh()) return s;
  // One thread re-reads the tree; the others wait for it instead of each reading it again.
  std::unique_lock wait(impl_->refresh_mu);
  if (auto s = fresh()) return s;
  wait.unlock();
  if (auto st = refresh(); !st) {
    log::error("directory.ldap_refresh_failed", {{"uri", impl_->cfg.uri}, {"error", st.error().message}});
    std::lock_guard g(impl_->mu);
    if (impl_->snap) return impl_->snap;
    return fail(ErrorCategory::temporary, st.error().message);
  }
  std::lock_guard g(impl_->mu);
  return impl_->snap;
}

std::shared_ptr<const DirectorySnapshot> LdapDirectory::snapshot_if_ready() {
  std::unique_lock lock(impl_->mu, std::try_to_lock);
  return lock.owns_lock() ? impl_->fresh_locked() : nullptr;
}

Result<bool> LdapDirectory::verify_external(const Credential& credential, std::string_view password) {
  if (credential.bind_dn.empty()) return fail(ErrorCategory::invalid_argument, "LDAP: no DN to bind as");
  // RFC 4513 5.1.2: a simple bind with an empty password is an unauthenticated bind that "succeeds".
  if (password.empty()) return false;
  auto lease = impl_->binder.acquire();
  if (!lease) return fail(lease.error());
  auto st = simple_bind((*lease)->get(), credential.bind_dn, password);
  if (st) return true;
  if (st.error().code == LDAP_INVALID_CREDENTIALS) return false;
  (*lease)->healthy = false;
  if (st.error().category == ErrorCategory::temporary) return fail(st.error());
  return fail(ErrorCategory::temporary, st.error().message);
}

}  // namespace tern::directory
