// ternctl command group for lib/queue:
//   ternctl queue list | show ID | flush | hold ID | release ID | delete ID   [--json]
// list/show read the spool's records directly (safe while tern-maild runs: records are replaced atomically).
// flush/hold/release/delete act on the spool directly when no process owns it (its lock is free); while
// tern-maild runs they drop a request into <spool>/ctl/ that the queue runner applies within about a second
// ([queue] control_poll) and answers in a .res file, which ternctl waits for (10 s).
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "apps/ternctl/ctl.hpp"
#include "tern/core/log.hpp"
#include "tern/mime/date.hpp"
#include "tern/queue/no_route_transport.hpp"
#include "tern/queue/queue.hpp"
#include "tern/queue/queue_config.hpp"

namespace {

namespace fs = std::filesystem;
using tern::queue::MessageRecord;

std::string js(std::string_view s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o.push_back('\\');
      o.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      o += fmt::format("\\u{:04x}", c);
    } else {
      o.push_back(static_cast<char>(c));
    }
  }
  return o + "\"";
}

std::string date(std::int64_t t) {
  if (t <= 0) return "-";
  return tern::mime::format_date_time(tern::mime::date_time_from_unix(t, 0));
}

std::string to_json(const MessageRecord& r) {
  std::string o = fmt::format(
      "{{\"id\": {}, \"arrival\": {}, \"from\": {}, \"size\": {}, \"held\": {}, \"envid\": {}, \"ret\": {}, "
      "\"delay_warned\": {}, \"recipients\": [",
      js(r.id), r.arrival, js(r.return_path), r.size, r.held ? "true" : "false", js(r.envid), js(r.ret),
      r.delay_warned ? "true" : "false");
  for (std::size_t i = 0; i < r.recipients.size(); ++i) {
    const auto& p = r.recipients[i];
    o += fmt::format(
        "{}{{\"address\": {}, \"state\": {}, \"attempts\": {}, \"next_attempt\": {}, \"notify\": {}, \"orcpt\": {}, "
        "\"last_code\": {}, \"last_status\": {}, \"last_reply\": {}, \"remote_mta\": {}}}",
        i ? ", " : "", js(p.address), js(to_string(p.state)), p.attempts, p.next_attempt, js(p.notify), js(p.orcpt),
        p.last_code, js(p.last_enhanced), js(p.last_text), js(p.last_remote_mta));
  }
  return o + "]}";
}

void print_text(const MessageRecord& r, bool details) {
  std::printf("%s  %s  %llu bytes  from <%s>%s\n", r.id.c_str(), date(r.arrival).c_str(),
              static_cast<unsigned long long>(r.size), r.return_path.c_str(), r.held ? "  HELD" : "");
  for (const auto& p : r.recipients) {
    std::printf("    %-9s <%s>  attempts %d", std::string(to_string(p.state)).c_str(), p.address.c_str(), p.attempts);
    if (p.state == tern::queue::RecipientState::deferred || p.state == tern::queue::RecipientState::pending)
      std::printf("  next %s", p.next_attempt <= std::time(nullptr) ? (r.held ? "when released" : "now")
                                                                      : date(p.next_attempt).c_str());
    std::printf("\n");
    if (p.last_code && (details || p.state != tern::queue::RecipientState::pending))
      std::printf("        %s%d %s %s\n", p.last_remote_mta.empty() ? "" : (p.last_remote_mta + ": ").c_str(), p.last_code,
                  p.last_enhanced.c_str(), p.last_text.c_str());
  }
}

std::optional<tern::queue::QueueConfig> queue_config(ternctl::Context& ctx, fs::path& spool) {
  auto data = ctx.data_dir();
  if (!data) return std::nullopt;
  tern::queue::QueueConfig config;
  if (auto s = ctx.section("queue")) (void)tern::queue::parse_queue_config(*s, config);
  if (!ctx.diagnostics.ok()) {
    std::fprintf(stderr, "%s", ctx.diagnostics.to_string().c_str());
    return std::nullopt;
  }
  spool = config.spool_dir.empty() ? *data / "queue" : config.spool_dir;
  return config;
}

int report(const ternctl::Context& ctx, const tern::Status& st, const std::string& ok_message) {
  if (!st) {
    if (ctx.json) std::printf("{\"ok\": false, \"error\": %s}\n", js(st.error().message).c_str());
    else std::fprintf(stderr, "ternctl: %s\n", st.error().message.c_str());
    return ternctl::kFailed;
  }
  if (ctx.json) std::printf("{\"ok\": true, \"message\": %s}\n", js(ok_message).c_str());
  else std::printf("%s\n", ok_message.c_str());
  return ternctl::kOk;
}

// Hands `request` to the process that owns the spool and waits for its answer.
tern::Status ask_owner(const fs::path& spool, const std::string& request) {
  std::random_device rd;
  std::string name = fmt::format("{}-{:08x}", ::getpid(), rd());
  fs::path tmp = spool / "ctl" / (name + ".tmp"), req = spool / "ctl" / (name + ".req"),
           res = spool / "ctl" / (name + ".res");
  {
    std::ofstream f(tmp);
    f << request << "\n";
    if (!f) return tern::fail(tern::ErrorCategory::io, "cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, req, ec);
  if (ec) return tern::fail(tern::ErrorCategory::io, "cannot write " + req.string() + ": " + ec.message());
  for (int i = 0; i < 200; ++i) {
    if (fs::exists(res)) {
      std::ifstream f(res);
      std::string line;
      std::getline(f, line);
      f.close();
      fs::remove(res, ec);
      if (line == "ok") return {};
      return tern::fail(tern::ErrorCategory::invalid_argument, line.starts_with("error: ") ? line.substr(7) : line);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  fs::remove(req, ec);
  return tern::fail(tern::ErrorCategory::temporary, "the running server did not answer the request within 10 s");
}

int run_queue(ternctl::Context& ctx, const std::vector<std::string>& args) {
  auto usage = [] {
    std::fprintf(stderr, "usage: ternctl queue list | show ID | flush | hold ID | release ID | delete ID [--json]\n");
    return ternctl::kUsage;
  };
  if (args.empty()) return usage();
  const std::string& op = args[0];
  bool wants_id = op == "show" || op == "hold" || op == "release" || op == "delete";
  if (!(wants_id || op == "list" || op == "flush")) return usage();
  if (args.size() != (wants_id ? 2u : 1u)) return usage();
  std::string id = wants_id ? args[1] : "";
  if (wants_id && !tern::queue::valid_queue_id(id)) {
    std::fprintf(stderr, "ternctl: '%s' is not a queue id\n", id.c_str());
    return ternctl::kUsage;
  }
  // The queue's own event lines (queue.opened, queue.held, ...) are for the daemon's log, not this terminal.
  auto log_options = tern::log::current_options();
  if (log_options.level < tern::log::Level::warn) log_options.level = tern::log::Level::warn;
  tern::log::configure(log_options);
  fs::path spool;
  auto config = queue_config(ctx, spool);
  if (!config) return ternctl::kFailed;

  if (op == "list" || op == "show") {
    auto records = tern::queue::Queue::read_spool(spool);
    if (!records) return report(ctx, tern::fail(records.error()), "");
    if (op == "show") {
      for (const auto& r : *records)
        if (r.id == id) {
          if (ctx.json) std::printf("%s\n", to_json(r).c_str());
          else print_text(r, true);
          return ternctl::kOk;
        }
      return report(ctx, tern::fail(tern::ErrorCategory::not_found, "no queued message " + id), "");
    }
    if (ctx.json) {
      std::printf("[");
      for (std::size_t i = 0; i < records->size(); ++i) std::printf("%s%s", i ? ",\n " : "", to_json((*records)[i]).c_str());
      std::printf("]\n");
    } else {
      for (const auto& r : *records) print_text(r, false);
      std::printf("%zu message%s queued\n", records->size(), records->size() == 1 ? "" : "s");
    }
    return ternctl::kOk;
  }

  std::string done = op == "flush" ? "queue flushed: every deferred message is tried now"
                                   : fmt::format("{} {}", id, op == "hold" ? "held" : op == "release" ? "released" : "deleted");
  tern::queue::NoRouteTransport transport;
  tern::queue::Queue q(*config, spool, "localhost", transport);
  auto opened = q.open();
  if (!opened) {
    if (opened.error().category != tern::ErrorCategory::exists) return report(ctx, opened, "");
    return report(ctx, ask_owner(spool, op + (id.empty() ? "" : " " + id)), done);  // the daemon owns it
  }
  tern::Status st;
  if (op == "flush") q.flush();
  else if (op == "hold") st = q.hold(id);
  else if (op == "release") st = q.release(id);
  else st = q.remove(id);
  return report(ctx, st, done);
}

bool registered = ternctl::register_group({"queue", "list, show, flush, hold, release or delete queued outbound mail", run_queue});

}  // namespace
