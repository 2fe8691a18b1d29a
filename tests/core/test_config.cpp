#include <boost/test/unit_test.hpp>

#include "tern/core/config.hpp"

using namespace tern;
using namespace std::chrono_literals;

namespace {
struct Loaded {
  ConfigDiagnostics diag;
  std::shared_ptr<ConfigDocument> doc;
};
std::unique_ptr<Loaded> load(std::string_view text) {
  auto l = std::make_unique<Loaded>();
  l->doc = ConfigDocument::load_string(text, "t.toml", "/etc/tern", l->diag);
  return l;
}
}  // namespace

BOOST_AUTO_TEST_CASE(reads_typed_values_and_keeps_defaults) {
  auto l = load("[server]\nhostname = \"mx.example.test\"\nworkers = 4\ndata_dir = \"data\"\n"
                "timeout = \"5m\"\nsize = \"25M\"\nnets = [\"10.0.0.0/8\"]\n");
  auto root = l->doc->root(l->diag);
  BOOST_REQUIRE(root);
  auto server = root->table("server");
  BOOST_REQUIRE(server);
  std::string host = "default";
  int workers = 1;
  bool flag = true;
  std::filesystem::path dir;
  std::chrono::milliseconds timeout = 1s;
  std::uint64_t size = 0;
  std::vector<std::string> nets;
  BOOST_TEST(server->get("hostname", host));
  BOOST_TEST(server->get("workers", workers, 1, 64));
  BOOST_TEST(!server->get("absent", flag));
  BOOST_TEST(server->get_path("data_dir", dir));
  BOOST_TEST(server->get_duration("timeout", timeout));
  BOOST_TEST(server->get_size("size", size));
  BOOST_TEST(server->get("nets", nets));
  server->finish();
  root->finish();
  BOOST_TEST(l->diag.ok(), l->diag.to_string());
  BOOST_TEST(host == "mx.example.test");
  BOOST_TEST(workers == 4);
  BOOST_TEST(flag == true);
  BOOST_TEST(dir == std::filesystem::path("/etc/tern/data"));
  BOOST_TEST(timeout.count() == 300000);
  BOOST_TEST(size == 25u * 1024 * 1024);
  BOOST_TEST(nets.size() == 1u);
}

BOOST_AUTO_TEST_CASE(unknown_keys_and_bad_types_name_file_line_and_key) {
  auto l = load("[server]\nhostname = 3\n\n[[listen]]\nservice = \"smtp\"\nadress = \"x\"\n");
  auto root = l->doc->root(l->diag);
  BOOST_REQUIRE(root);
  std::string host;
  auto server = root->table("server");
  server->get("hostname", host);
  server->finish();
  for (auto& listen : root->tables("listen")) {
    std::string s;
    listen.get("service", s);
    listen.finish();
  }
  root->finish();
  BOOST_REQUIRE_EQUAL(l->diag.issues().size(), 2u);
  BOOST_TEST(l->diag.issues()[0].to_string() == "t.toml:2: server.hostname: expected a string");
  BOOST_TEST(l->diag.issues()[1].to_string() == "t.toml:6: listen[1].adress: unknown key");
}

BOOST_AUTO_TEST_CASE(out_of_range_integers_are_errors) {
  auto l = load("n = 0\n");
  auto root = l->doc->root(l->diag);
  int n = 5;
  BOOST_TEST(!root->get("n", n, 1, 10));
  BOOST_TEST(n == 5);
  BOOST_TEST(l->diag.to_string() == "t.toml:1: n: must be between 1 and 10 (got 0)\n");
}

BOOST_AUTO_TEST_CASE(syntax_errors_carry_the_line) {
  auto l = load("a = 1\nb = = 2\n");
  BOOST_TEST(!l->doc->root(l->diag));
  BOOST_REQUIRE_EQUAL(l->diag.issues().size(), 1u);
  BOOST_TEST(l->diag.issues()[0].line == 2);
}

BOOST_AUTO_TEST_CASE(durations_and_sizes_parse_documented_forms) {
  BOOST_TEST(parse_duration("250ms")->count() == 250);
  BOOST_TEST(parse_duration("2h")->count() == 7200000);
  BOOST_TEST(parse_duration("5d")->count() == 432000000);
  BOOST_TEST(!parse_duration("5x"));
  BOOST_TEST(!parse_duration(""));
  BOOST_TEST(*parse_size("512K") == 524288u);
  BOOST_TEST(*parse_size("1gb") == 1073741824u);
  BOOST_TEST(*parse_size("100") == 100u);
  BOOST_TEST(!parse_size("12Q"));
}
