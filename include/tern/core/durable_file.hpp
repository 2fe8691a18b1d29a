// Writing a file so that it survives a crash or power loss whole or not at all: the data goes to a
// temporary file, which is fsync'd, renamed over the target, and the directory is fsync'd (the rename
// itself is only durable then). Used by the queue spool, the directory file and key files.
#pragma once

#include <filesystem>
#include <string_view>

#include "tern/core/result.hpp"

namespace tern {

// `tmp` defaults to "<target>.tmp.<pid>" beside the target; it must be on the same file system.
Status write_file_durably(const std::filesystem::path& target, std::string_view data, unsigned mode = 0600,
                          const std::filesystem::path& tmp = {});
Status fsync_directory(const std::filesystem::path& dir);

}  // namespace tern
