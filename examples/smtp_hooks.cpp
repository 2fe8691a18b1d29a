// A host product that shapes the SMTP message path with hooks: one refuses a recipient, one adds a header.
// Built against an installed Tern (pkg-config tern) by the tests, which then send mail through it.
//
//   usage: smtp_hooks DATA_DIR   (prints "listening on PORT", serves until stdin closes)
#include <cstdio>
#include <iostream>
#include <string>

#include <tern/directory/directory.hpp>
#include <tern/net/address.hpp>
#include <tern/server/server.hpp>
#include <tern/smtp/hooks.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: smtp_hooks DATA_DIR\n");
    return 2;
  }
  tern::ServerConfig config;
  config.hostname = "hooks.example.test";
  config.data_dir = argv[1];
  config.io_threads = 1;
  config.listen.push_back({"smtp", *tern::net::parse_listen_address("127.0.0.1:0")});

  auto hooks = std::make_shared<tern::smtp::Hooks>();
  // Refuse one recipient with a clear reply, whatever the directory says.
  hooks->on_rcpt("no-ceo", [](const tern::smtp::SessionInfo&, const tern::smtp::Envelope&,
                              const tern::smtp::Recipient& rcpt) -> asio::awaitable<tern::smtp::Verdict> {
    if (rcpt.address.rfind("ceo@", 0) == 0)
      co_return tern::smtp::Verdict::reject(550, "5.7.1", "The CEO does not take mail from strangers");
    co_return tern::smtp::Verdict::next();
  });
  // Stamp every accepted message with a header of the host's own.
  hooks->on_data("stamp", [](const tern::smtp::SessionInfo& session, const tern::smtp::Envelope&,
                             const tern::smtp::MessageView&) -> asio::awaitable<tern::smtp::Verdict> {
    co_return tern::smtp::Verdict::add_header("X-Host-Checked", "yes; session=" + session.session_id);
  });

  tern::ServerOptions options;
  options.smtp_hooks = hooks;
  auto server = tern::Server::create(std::move(config), std::move(options));
  if (!server) {
    std::fprintf(stderr, "create: %s\n", server.error().message.c_str());
    return 1;
  }
  if (auto st = (*server)->start(); !st) {
    std::fprintf(stderr, "start: %s\n", st.error().message.c_str());
    return 1;
  }
  std::printf("listening on %u\n", (*server)->listeners().at(0).address.port);
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  (*server)->stop(std::chrono::seconds(2));
  (*server)->wait();
  return 0;
}
