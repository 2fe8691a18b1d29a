// Crash-test helper: delivers messages in a loop and prints "<id>" after each append returns (acknowledged).
// Usage: store_deliver_loop DATA_DIR USER START_ID
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tern/store/maildir_store.hpp"

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  tern::store::MaildirStore store(argv[1]);
  auto u = store.open_user(argv[2]);
  if (!u) return 1;
  for (long id = std::atol(argv[3]);; ++id) {
    std::string m = "Message-ID: <" + std::to_string(id) + "@crash>\r\nSubject: crash " + std::to_string(id) + "\r\n\r\n" +
                    std::string(static_cast<std::size_t>(100 + id % 3000), 'x') + "\r\n";
    auto r = (*u)->append_message("INBOX", m);
    if (!r) return 1;
    if (id % 7 == 0) (void)(*u)->change_flags("INBOX", {*r}, {tern::store::FlagChange::Mode::add, {tern::store::flag_seen, {"$Crash"}}, std::nullopt});
    std::printf("%ld %u\n", id, *r);
    std::fflush(stdout);
  }
}
