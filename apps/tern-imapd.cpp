// tern-imapd: only the imap roles of the config.
#include "apps/daemon_main.hpp"

int main(int argc, char** argv) { return daemon_main(argc, argv, {"tern-imapd", {"imap", "imaps"}}); }
