// The SMTP service embedded through the public API with a host MessageSink and an in-memory directory:
// what leaves for other domains is handed to the outbound queue with its DSN parameters, local copies go
// to the store once per mailbox, and data hooks can quarantine.
#include <boost/test/unit_test.hpp>

#include <asio/connect.hpp>
#include <asio/read_until.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>
#include <mutex>

#include "tern/directory/directory.hpp"
#include "tern/server/server.hpp"

using namespace tern;

namespace {

class RecordingSink : public smtp::MessageSink {
 public:
  Status deliver_local(const smtp::LocalDelivery& target, std::string_view message) override {
    std::lock_guard lock(mutex);
    local.push_back({target, std::string(message)});
    return {};
  }
  Result<std::string> enqueue(const smtp::QueuedEnvelope& envelope, std::string_view message) override {
    std::lock_guard lock(mutex);
    queued.push_back({envelope, std::string(message)});
    return std::string("Q") + std::to_string(queued.size());
  }
  std::mutex mutex;
  std::vector<std::pair<smtp::LocalDelivery, std::string>> local;
  std::vector<std::pair<smtp::QueuedEnvelope, std::string>> queued;
};

struct Harness {
  std::shared_ptr<RecordingSink> sink = std::make_shared<RecordingSink>();
  std::unique_ptr<Server> server;
  asio::io_context io;
  asio::ip::tcp::socket sock{io};
  asio::streambuf in;

  explicit Harness(std::shared_ptr<const smtp::Hooks> hooks = nullptr) {
    directory::DirectorySnapshot snap;
    snap.domains.push_back({"example.test"});
    snap.users.push_back({"ann"});
    snap.mailboxes.push_back({"ann", "example.test", "ann"});
    snap.aliases.push_back({"team", "example.test", {"ann@example.test", "friend@remote.test"}});
    ServerConfig config;
    config.hostname = "mx.example.test";
    config.io_threads = 1;
    config.worker_threads = 1;
    config.internal_networks.push_back(*net::IpNetwork::parse("127.0.0.0/8"));  // the host's apps may relay
    config.listen.push_back({"smtp", *net::parse_listen_address("127.0.0.1:0")});
    ServerOptions options;
    options.directory = std::make_shared<directory::MemoryDirectory>(snap);
    options.message_sink = sink;
    options.smtp_hooks = std::move(hooks);
    auto s = Server::create(config, std::move(options));
    BOOST_REQUIRE_MESSAGE(s, (s ? "" : s.error().message));
    server = std::move(*s);
    BOOST_REQUIRE(server->start());
    sock.connect({asio::ip::make_address("127.0.0.1"), server->listeners().at(0).address.port});
    BOOST_REQUIRE(reply().rfind("220 ", 0) == 0);
  }
  ~Harness() {
    sock.close();
    server->stop(std::chrono::seconds(1));
    server->wait();
  }
  std::string reply() {  // the last line of a (multi-line) reply
    for (;;) {
      asio::read_until(sock, in, "\r\n");
      std::istream is(&in);
      std::string line;
      std::getline(is, line);
      if (line.size() < 4 || line[3] != '-') return line.substr(0, line.size() - 1);
    }
  }
  std::string cmd(const std::string& c) {
    asio::write(sock, asio::buffer(c + "\r\n"));
    return reply();
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(remote_recipients_are_handed_to_the_queue_with_dsn_parameters) {
  Harness h;
  BOOST_TEST(h.cmd("EHLO app.internal").rfind("250 ", 0) == 0);
  BOOST_TEST(h.cmd("MAIL FROM:<noreply@example.test> RET=HDRS ENVID=QQ+2B1").rfind("250 2.1.0", 0) == 0);
  BOOST_TEST(h.cmd("RCPT TO:<user@remote.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;user@remote.test").rfind("250 2.1.5", 0) == 0);
  BOOST_TEST(h.cmd("RCPT TO:<team@example.test>").rfind("250 2.1.5", 0) == 0);
  BOOST_TEST(h.cmd("DATA").rfind("354", 0) == 0);
  auto done = h.cmd("Subject: password reset\r\n\r\nclick here\r\n.");
  BOOST_TEST(done.rfind("250 2.0.0", 0) == 0, done);
  BOOST_TEST(h.cmd("QUIT").rfind("221", 0) == 0);
  std::lock_guard lock(h.sink->mutex);
  BOOST_REQUIRE_EQUAL(h.sink->queued.size(), 1u);
  const auto& [env, body] = h.sink->queued[0];
  BOOST_TEST(env.return_path == "noreply@example.test");
  BOOST_TEST(env.ret == "HDRS");
  BOOST_TEST(env.envid == "QQ+1");  // xtext-decoded (RFC 3461 §4)
  BOOST_REQUIRE_EQUAL(env.recipients.size(), 2u);
  BOOST_TEST(env.recipients[0].address == "user@remote.test");
  BOOST_TEST(env.recipients[0].notify == "SUCCESS,FAILURE");
  BOOST_TEST(env.recipients[0].orcpt == "rfc822;user@remote.test");
  BOOST_TEST(env.recipients[1].address == "friend@remote.test");  // the alias's external target
  BOOST_TEST(body.find("Received: from app.internal") == 0);
  BOOST_TEST(body.find("Return-Path:") == std::string::npos);  // added only at final delivery
  BOOST_REQUIRE_EQUAL(h.sink->local.size(), 1u);
  BOOST_TEST(h.sink->local[0].first.mailbox == "ann@example.test");
  BOOST_TEST(h.sink->local[0].second.find("Return-Path: <noreply@example.test>\r\nReceived: ") == 0);
}

BOOST_AUTO_TEST_CASE(quarantine_verdict_delivers_to_junk) {
  auto hooks = std::make_shared<smtp::Hooks>();
  hooks->on_data("spam", [](const smtp::SessionInfo&, const smtp::Envelope&,
                            const smtp::MessageView& m) -> asio::awaitable<smtp::Verdict> {
    if (m.bytes.find("viagra") != std::string_view::npos) co_return smtp::Verdict::quarantine();
    co_return smtp::Verdict::next();
  });
  Harness h(hooks);
  h.cmd("EHLO client.test");
  h.cmd("MAIL FROM:<x@remote.test>");
  h.cmd("RCPT TO:<ann@example.test>");
  h.cmd("DATA");
  BOOST_TEST(h.cmd("Subject: offer\r\n\r\ncheap viagra\r\n.").rfind("250 2.0.0", 0) == 0);
  h.cmd("QUIT");
  std::lock_guard lock(h.sink->mutex);
  BOOST_REQUIRE_EQUAL(h.sink->local.size(), 1u);
  BOOST_TEST(h.sink->local[0].first.junk);
}
