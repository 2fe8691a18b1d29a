// Interop helper: `store_tool DATA_DIR USER list MAILBOX` prints the messages as JSON lines
// {"uid":N,"flags":["\\Seen",...],"size":N}; `store_tool DATA_DIR USER append MAILBOX FLAGS KEYWORD... < message`;
// `store_tool DATA_DIR USER create MAILBOX`; `store_tool DATA_DIR USER mailboxes -` prints the names as JSON strings.
#include <iostream>
#include <iterator>
#include <string>

#include "tern/store/maildir_store.hpp"

using namespace tern::store;

int main(int argc, char** argv) {
  if (argc < 5) return 2;
  MaildirStore store(argv[1]);
  auto u = store.open_user(argv[2]);
  if (!u) { std::cerr << u.error().describe() << "\n"; return 1; }
  std::string cmd = argv[3], box = argv[4];
  if (cmd == "list") {
    auto st = (*u)->status(box);
    auto ms = (*u)->messages(box);
    if (!st || !ms) return 1;
    std::cout << "{\"uidvalidity\":" << st->uid_validity << ",\"uidnext\":" << st->uid_next << ",\"highestmodseq\":" << st->highest_modseq
              << "}\n";
    for (auto& m : *ms) {
      std::cout << "{\"uid\":" << m.uid << ",\"size\":" << m.size << ",\"flags\":[";
      const char* names[] = {"\\\\Seen", "\\\\Answered", "\\\\Flagged", "\\\\Deleted", "\\\\Draft"};
      bool first = true;
      for (int i = 0; i < 5; ++i)
        if (m.flags.system & (1u << i)) std::cout << (first ? "" : ",") << "\"" << names[i] << "\"", first = false;
      for (auto& k : m.flags.keywords) std::cout << (first ? "" : ",") << "\"" << k << "\"", first = false;
      std::cout << "]}\n";
    }
    return 0;
  }
  if (cmd == "create") {
    auto r = (*u)->create(box);
    if (!r) { std::cerr << r.error().describe() << "\n"; return 1; }
    return 0;
  }
  if (cmd == "mailboxes") {  // `store_tool DATA USER mailboxes -`: one JSON string per mailbox
    auto l = (*u)->list();
    if (!l) return 1;
    for (auto& m : *l) std::cout << "\"" << m.name << "\"\n";
    return 0;
  }
  if (cmd == "append" && argc >= 6) {
    AppendRequest r;
    std::string f = argv[5];
    if (f.find('S') != std::string::npos) r.flags.system |= flag_seen;
    if (f.find('F') != std::string::npos) r.flags.system |= flag_flagged;
    if (f.find('R') != std::string::npos) r.flags.system |= flag_answered;
    for (int i = 6; i < argc; ++i) r.flags.keywords.push_back(argv[i]);
    std::string msg((std::istreambuf_iterator<char>(std::cin)), {});
    auto uid = (*u)->append_message(box, msg, r);
    if (!uid) { std::cerr << uid.error().describe() << "\n"; return 1; }
    std::cout << "{\"uid\":" << *uid << "}\n";
    return 0;
  }
  return 2;
}
