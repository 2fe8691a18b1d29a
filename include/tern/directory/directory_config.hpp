// The [directory] section of tern.toml (documented in docs/directory.md) and opening the backend.
//
//   [directory]
//   backend = "file"                 # "file" (default) or "ldap"
//   file = "<data_dir>/directory/directory.toml"
//   dms_dir = ""                     # docker-mailserver config dir with postfix-accounts.cf etc.; "" = not read
//   subaddress_separator = "+"       # one character; "" disables subaddressing
//   masquerading = false             # true: authenticated users may send as any address
//   send_as_lists = false            # true: list members may send as the list address
//   reload_interval = "1s"           # how often the file backend looks for changes
//   [directory.ldap]                 # see LdapConfig
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "tern/core/config.hpp"
#include "tern/directory/directory.hpp"
#include "tern/directory/ldap_config.hpp"

namespace tern::directory {

struct DirectoryConfig {
  std::string backend = "file";
  std::filesystem::path file;     // empty: <data_dir>/directory/directory.toml
  std::filesystem::path dms_dir;  // empty: docker-mailserver files are not read
  ResolveOptions resolve;         // subaddress_separator '+', masquerading false, send_as_lists false
  std::chrono::milliseconds reload_interval{1000};
  LdapConfig ldap;
};

// Reads every key of [directory] (and [directory.ldap]); reports problems into the section's
// diagnostics as FILE:LINE: key: message and returns an error if there were any.
Status parse_directory_config(ConfigSection& section, DirectoryConfig& out);

// The file path after defaults: `file`, or <data_dir>/directory/directory.toml.
std::filesystem::path directory_file(const DirectoryConfig& config, const std::filesystem::path& data_dir);

// Opens the configured backend. BLOCKING (reads files / connects to LDAP).
Result<std::unique_ptr<Directory>> open_directory(const DirectoryConfig& config, const std::filesystem::path& data_dir);

}  // namespace tern::directory
