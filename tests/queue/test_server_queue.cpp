// The server builds the outbound queue only in a process that accepts mail, and one spool has one owner.
#include <boost/test/unit_test.hpp>

#include <filesystem>

#include "tern/server/server.hpp"

using namespace tern;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/tern-queue-server-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

ServerConfig config_for(const fs::path& data, std::vector<std::string> services) {
  ServerConfig c;
  c.hostname = "mx.example.test";
  c.data_dir = data;
  c.worker_threads = 1;
  c.io_threads = 1;
  for (const auto& s : services) {
    ListenConfig l;
    l.service = s;
    l.address = *net::parse_listen_address("127.0.0.1:0");
    c.listen.push_back(l);
  }
  return c;
}

}  // namespace

BOOST_AUTO_TEST_CASE(only_a_mail_accepting_server_owns_the_spool) {
  TempDir dir;
  auto none = Server::create(config_for(dir.path, {}));
  BOOST_REQUIRE_MESSAGE(static_cast<bool>(none), (none ? std::string() : none.error().message));
  BOOST_TEST(!(*none)->queue());
  BOOST_TEST(!fs::exists(dir.path / "queue" / "lock"));

  auto mta = Server::create(config_for(dir.path, {"smtp"}));
  BOOST_REQUIRE_MESSAGE(static_cast<bool>(mta), (mta ? std::string() : mta.error().message));
  BOOST_REQUIRE((*mta)->queue() != nullptr);
  BOOST_TEST((*mta)->queue()->spool_dir() == dir.path / "queue");
  // A second mail server on the same data_dir is refused instead of sharing the spool.
  auto second = Server::create(config_for(dir.path, {"submission"}));
  BOOST_REQUIRE(!static_cast<bool>(second));
  BOOST_TEST(second.error().message.find("in use by another process") != std::string::npos);
  // A custom spool_dir is honoured.
  auto cfg = config_for(dir.path, {"lmtp"});
  cfg.queue.spool_dir = dir.path / "elsewhere";
  auto third = Server::create(cfg);
  BOOST_REQUIRE_MESSAGE(static_cast<bool>(third), (third ? std::string() : third.error().message));
  BOOST_TEST(fs::exists(dir.path / "elsewhere" / "lock"));
}
