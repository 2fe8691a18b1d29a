#include "tern/core/thread_name.hpp"

#include <pthread.h>

#include <string>

namespace tern {

void set_thread_name(std::string_view name) {
  std::string cut(name.substr(0, 15));  // pthread_setname_np(3): 16 bytes with the NUL, else ERANGE
  (void)::pthread_setname_np(::pthread_self(), cut.c_str());
}

}  // namespace tern
