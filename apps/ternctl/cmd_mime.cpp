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
  std::string data;
  if (args[1] == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    data = ss.str();
  } else {
    std::ifstream in(args[1], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "ternctl mime inspect: cannot open %s\n", args[1].c_str());
      return ternctl::kFailed;
    }
    data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::string json = tern::mime::inspect_json(data);
  std::fwrite(json.data(), 1, json.size(), stdout);
  std::fputc('\n', stdout);
  return ternctl::kOk;
}

const bool registered = ternctl::register_group({"mime", "MIME messages: inspect FILE|-", run});

}  // namespace
