// Replays a fuzz target's corpus (files or directories given as arguments) without libFuzzer,
// so every seed and crash reproducer runs in the normal and sanitizer test builds.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  std::size_t runs = 0;
  auto run_file = [&](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    ++runs;
  };
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(p))
        if (e.is_regular_file()) run_file(e.path());
    } else {
      run_file(p);
    }
  }
  // Also the empty input and a few degenerate ones every parser must survive.
  const uint8_t zeros[64] = {};
  LLVMFuzzerTestOneInput(nullptr, 0);
  LLVMFuzzerTestOneInput(zeros, sizeof zeros);
  std::printf("replayed %zu corpus files\n", runs);
  return runs > 0 ? 0 : 1;  // an empty corpus means the seeds went missing
}
