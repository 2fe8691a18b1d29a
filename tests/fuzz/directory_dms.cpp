// Fuzz target: docker-mailserver's postfix-accounts.cf, postfix-virtual.cf and dovecot-masters.cf
// are read as they are; bad lines are warnings, never crashes.
#include <cstdint>
#include <string_view>

#include "tern/directory/file_directory.hpp"
#include "tern/directory/resolution.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tern::directory;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  DmsData dms;
  parse_postfix_accounts(in, "accounts", dms);
  parse_postfix_virtual(in, "virtual", dms);
  parse_dovecot_masters(in, "masters", dms);
  DirectorySnapshot snap;
  std::vector<std::string> warnings;
  merge_dms(snap, dms, warnings);
  for (const auto& a : dms.aliases) (void)resolve(snap, a.address(), {});
  for (const auto& m : dms.accounts) (void)lookup_login(snap, m.address());
  return 0;
}
