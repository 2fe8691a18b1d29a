// ternctl command group for lib/store: `ternctl store check USER`, `ternctl store reindex USER` (also
// `ternctl mailbox check|reindex USER`, the name operators look for beside mailbox import/export).
#include <cstdio>

#include "apps/ternctl/ctl.hpp"
#include "tern/store/maildir_store.hpp"

namespace ternctl {

int store_command(Context& ctx, const std::vector<std::string>& args) {
  if (args.size() != 2 || (args[0] != "check" && args[0] != "reindex")) {
    std::fprintf(stderr, "usage: ternctl store|mailbox check|reindex USER\n");
    return kUsage;
  }
  auto dir = ctx.data_dir();
  if (!dir) return kFailed;
  tern::store::MaildirStore store(*dir);
  if (args[0] == "reindex") {
    if (auto s = store.reindex(args[1]); !s) {
      std::fprintf(stderr, "ternctl: %s\n", s.error().describe().c_str());
      return kFailed;
    }
  }
  auto u = store.open_user(args[1]);
  if (!u) {
    std::fprintf(stderr, "ternctl: %s\n", u.error().describe().c_str());
    return kFailed;
  }
  // check: opening every mailbox brings the index in step with dovecot-uidlist, new/ and cur/ where they
  // changed (unknown files get new UIDs, vanished ones are dropped). reindex (above) rebuilds it all first.
  auto list = (*u)->list();
  if (!list) {
    std::fprintf(stderr, "ternctl: %s\n", list.error().describe().c_str());
    return kFailed;
  }
  int rc = kOk;
  for (auto& m : *list) {
    auto st = (*u)->status(m.name);
    if (!st) {
      std::fprintf(stderr, "ternctl: %s: %s\n", m.name.c_str(), st.error().describe().c_str());
      rc = kFailed;
      continue;
    }
    if (ctx.json)
      std::printf("{\"mailbox\":\"%s\",\"uidvalidity\":%u,\"uidnext\":%u,\"messages\":%u,\"size\":%llu}\n", m.name.c_str(),
                  st->uid_validity, st->uid_next, st->messages, static_cast<unsigned long long>(st->size));
    else
      std::printf("%-20s uidvalidity %u uidnext %u messages %u size %llu\n", m.name.c_str(), st->uid_validity, st->uid_next,
                  st->messages, static_cast<unsigned long long>(st->size));
  }
  return rc;
}

}  // namespace ternctl

namespace {
bool registered = ternctl::register_group({"store", "check or reindex a user's mail store", ternctl::store_command});
}  // namespace
