// tern-maild: every service the config lists.
#include "apps/daemon_main.hpp"

int main(int argc, char** argv) { return daemon_main(argc, argv, {"tern-maild", {}}); }
