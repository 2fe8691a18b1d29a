// tern-smtpd: only the smtp roles of the config.
#include "apps/daemon_main.hpp"

int main(int argc, char** argv) { return daemon_main(argc, argv, {"tern-smtpd", {"smtp", "submission", "submissions", "lmtp"}}); }
