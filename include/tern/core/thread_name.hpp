// Names the calling thread as `top -H`, `ps -L`, perf and gdb show it ("tern-io-0", "tern-worker", ...),
// so an operator can tell which part of an embedded server is busy. Linux keeps 15 bytes; longer names
// are cut. A host's own threads are never renamed: only threads Tern starts call this.
#pragma once

#include <string_view>

namespace tern {

void set_thread_name(std::string_view name);

}  // namespace tern
