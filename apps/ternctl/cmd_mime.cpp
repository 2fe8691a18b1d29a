// ternctl mime inspect FILE|-   prints the parsed MIME tree as JSON (see tern/mime/inspect.hpp).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "apps/ternctl/ctl.hpp"
#include "tern/mime/inspect.hpp"

namespace {

int run(ternctl::Context&, const std::vector<std::string>& args) {
  if (args.size() != 2 || args[0] != "inspect") {
    std::fprintf(stderr, "usage: ternctl mime inspect FILE|-\n");
    return ternctl::kUsage;
  }
  std::string error;
  auto data = ternctl::read_input(args[1], error);
  if (!data) {
    std::fprintf(stderr, "ternctl mime inspect: %s\n", error.c_str());
    return ternctl::kFailed;
  }
  std::string json = tern::mime::inspect_json(*data);
  std::fwrite(json.data(), 1, json.size(), stdout);
  std::fputc('\n', stdout);
  return ternctl::kOk;
}

const bool registered = ternctl::register_group({"mime", "MIME messages: inspect FILE|-", run});

}  // namespace
