// The smallest host product: Tern's server runtime inside your own process, with a protocol of your own
// next to the built-in services. Build against an installed Tern:
//
//   c++ -std=c++20 embed_minimal.cpp $(pkg-config --cflags --libs tern) -o embed_minimal
//
// It starts a listener on a free loopback port, connects to itself, checks the greeting and stops.
#include <asio/connect.hpp>
#include <asio/read_until.hpp>
#include <asio/streambuf.hpp>
#include <cstdio>
#include <istream>

#include <tern/net/address.hpp>
#include <tern/server/server.hpp>
#include <tern/version.hpp>

namespace {

// A host-defined service: greets and closes. Built-in services (SMTP, IMAP, ...) plug in the same way.
class GreetingService : public tern::net::Service {
 public:
  std::string_view name() const override { return "greeting"; }
  bool implicit_tls() const override { return false; }
  std::string refusal(tern::net::RefusalReason) const override { return "busy\r\n"; }
  asio::awaitable<void> serve(std::shared_ptr<tern::net::Connection> c) override {
    std::string hello = "hello from an embedded Tern " TERN_VERSION_STRING "\r\n";
    co_await c->write(hello);
  }
};

}  // namespace

int main() {
  if (std::string(tern::runtime_version()) != TERN_VERSION_STRING) {
    std::fprintf(stderr, "headers %s but library %s\n", TERN_VERSION_STRING, tern::runtime_version());
    return 1;
  }
  tern::ServerConfig config;
  config.hostname = "embed.example.test";
  config.io_threads = 1;
  config.listen.push_back({"greeting", *tern::net::parse_listen_address("127.0.0.1:0")});

  tern::ServerOptions options;
  options.services.add("greeting", [](tern::ServiceEnvironment&, const tern::ListenConfig&)
                                       -> tern::Result<std::shared_ptr<tern::net::Service>> {
    return std::make_shared<GreetingService>();
  });

  auto server = tern::Server::create(std::move(config), std::move(options));
  if (!server) {
    std::fprintf(stderr, "create: %s\n", server.error().message.c_str());
    return 1;
  }
  if (auto st = (*server)->start(); !st) {
    std::fprintf(stderr, "start: %s\n", st.error().message.c_str());
    return 1;
  }
  auto port = (*server)->listeners().at(0).address.port;
  std::printf("listening on 127.0.0.1:%u\n", port);

  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  sock.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::streambuf buf;
  asio::read_until(sock, buf, "\r\n");
  std::istream in(&buf);
  std::string line;
  std::getline(in, line);
  std::printf("server said: %s\n", line.c_str());

  (*server)->stop(std::chrono::seconds(1));
  (*server)->wait();
  return line.rfind("hello from an embedded Tern", 0) == 0 ? 0 : 1;
}
