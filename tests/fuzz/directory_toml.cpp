// Fuzz target: directory.toml is edited by hand; a broken file must give an error, never a crash,
// and whatever parses must render and parse back to the same text.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/directory/file_directory.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tern::directory;
  if (size > 65536) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto snap = parse_directory_toml(in, "fuzz.toml");
  if (!snap) return 0;
  (void)validate_snapshot(*snap);
  std::string text = render_directory_toml(*snap);
  auto again = parse_directory_toml(text, "render.toml");
  if (!again) std::abort();
  if (render_directory_toml(*again) != text) std::abort();
  return 0;
}
