// Crash-test helper: delivers messages in a loop and prints "<id> <uid>" after each append returns
// (acknowledged). Usage: store_deliver_loop DATA_DIR USER START_ID [mix]
// With "mix", it also changes flags and expunges, announcing each operation before it starts and
// acknowledging it after it returns:
//   a ID / A ID UID MODSEQ        append
//   f UID MASK / F UID MASK MODSEQ set flags (MASK: 1 \Seen, 2 \Flagged, 4 $Crash, 8 Work)
//   e UID / E UID MODSEQ          expunge
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "tern/store/maildir_store.hpp"

using namespace tern::store;

namespace {
std::string message(long id) {
  return "Message-ID: <" + std::to_string(id) + "@crash>\r\nSubject: crash " + std::to_string(id) + "\r\n\r\n" +
         std::string(static_cast<std::size_t>(100 + id % 3000), 'x') + "\r\n";
}
void say(const std::string& s) {
  std::fputs(s.c_str(), stdout);
  std::fflush(stdout);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) return 2;
  MaildirStore store(argv[1]);
  auto u = store.open_user(argv[2]);
  if (!u) return 1;
  long id = std::atol(argv[3]);
  if (argc == 4) {
    for (;; ++id) {
      auto r = (*u)->append_message("INBOX", message(id));
      if (!r) return 1;
      if (id % 7 == 0) (void)(*u)->change_flags("INBOX", {*r}, {FlagChange::Mode::add, {flag_seen, {"$Crash"}}, std::nullopt});
      std::printf("%ld %u\n", id, *r);
      std::fflush(stdout);
    }
  }
  std::mt19937 rng(static_cast<unsigned>(id));
  auto all = (*u)->messages("INBOX");
  if (!all) return 1;
  std::vector<std::uint32_t> uids;
  for (auto& m : *all) uids.push_back(m.uid);
  say("ready\n");
  for (;; ++id) {
    int op = static_cast<int>(rng() % 10);
    if (op < 5 || uids.size() < 5) {
      say("a " + std::to_string(id) + "\n");
      auto r = (*u)->append_message("INBOX", message(id));
      if (!r) return 1;
      uids.push_back(*r);
      auto st = (*u)->status("INBOX");
      say("A " + std::to_string(id) + " " + std::to_string(*r) + " " + std::to_string(st ? st->highest_modseq : 0) + "\n");
    } else if (op < 8) {
      std::uint32_t uid = uids[rng() % uids.size()];
      unsigned mask = rng() % 16;
      FlagChange ch{FlagChange::Mode::set, {}, std::nullopt};
      if (mask & 1) ch.flags.system |= flag_seen;
      if (mask & 2) ch.flags.system |= flag_flagged;
      if (mask & 4) ch.flags.keywords.push_back("$Crash");
      if (mask & 8) ch.flags.keywords.push_back("Work");
      say("f " + std::to_string(uid) + " " + std::to_string(mask) + "\n");
      auto r = (*u)->change_flags("INBOX", {uid}, ch);
      if (!r) return 1;
      auto st = (*u)->status("INBOX");
      say("F " + std::to_string(uid) + " " + std::to_string(mask) + " " + std::to_string(st ? st->highest_modseq : 0) + "\n");
    } else {
      std::size_t i = rng() % uids.size();
      std::uint32_t uid = uids[i];
      uids.erase(uids.begin() + static_cast<long>(i));
      say("e " + std::to_string(uid) + "\n");
      auto r = (*u)->expunge("INBOX", {uid});
      if (!r) return 1;
      say("E " + std::to_string(uid) + " " + std::to_string(r->modseq) + "\n");
    }
  }
}
