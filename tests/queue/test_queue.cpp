#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <fstream>
#include <map>
#include <sstream>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "tern/core/config.hpp"
#include "tern/core/log.hpp"
#include "tern/mime/message.hpp"
#include "tern/queue/dsn.hpp"
#include "tern/queue/queue.hpp"
#include "tern/queue/queue_config.hpp"
#include "tern/queue/spool_record.hpp"

using namespace tern;
using namespace tern::queue;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/tern-queue-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Decides per recipient; counts parallel deliveries per domain; may take `delay` (a real timer) per call.
struct FakeTransport : Transport {
  std::function<RecipientStatus(const DeliveryRequest&, const DeliveryRecipient&)> decide =
      [](const DeliveryRequest&, const DeliveryRecipient&) {
        return RecipientStatus{RecipientOutcome::delivered, 250, "2.0.0", "ok queued as X", "mx.remote.test"};
      };
  std::vector<DeliveryRequest> calls;
  std::vector<std::string> bodies;
  std::chrono::milliseconds delay{0};
  int active = 0, max_active = 0;
  std::map<std::string, int> active_domain, max_domain;

  asio::awaitable<std::vector<RecipientStatus>> deliver(const DeliveryRequest& r) override {
    calls.push_back(r);
    // What a transport sends: message_size octets from message_offset (the queue file starts with its record).
    std::ifstream f(r.message_file, std::ios::binary);
    f.seekg(static_cast<std::streamoff>(r.message_offset));
    std::string body(r.message_size, '\0');
    f.read(body.data(), static_cast<std::streamsize>(body.size()));
    body.resize(static_cast<std::size_t>(f.gcount()));
    bodies.push_back(body);
    max_active = std::max(max_active, ++active);
    max_domain[r.domain] = std::max(max_domain[r.domain], ++active_domain[r.domain]);
    if (delay.count()) {
      asio::steady_timer t(co_await asio::this_coro::executor);
      t.expires_after(delay);
      co_await t.async_wait(asio::use_awaitable);
    }
    std::vector<RecipientStatus> out;
    for (const auto& rc : r.recipients) out.push_back(decide(r, rc));
    --active;
    --active_domain[r.domain];
    co_return out;
  }
};

RecipientStatus deferred(std::string text = "try later") {
  return {RecipientOutcome::deferred, 451, "4.7.1", std::move(text), "mx.remote.test"};
}
RecipientStatus failed(std::string text = "no such user") {
  return {RecipientOutcome::failed, 550, "5.1.1", std::move(text), "mx.remote.test"};
}

const std::string kMessage =
    "From: Alice <alice@local.test>\r\nTo: bob@remote.test\r\nSubject: hello\r\nMessage-ID: <m1@local.test>\r\n\r\n"
    "Body line one.\r\nBody line two.\r\n";

// A queue over a temp spool with a movable clock and a local route for local.test (where DSNs arrive).
struct Fixture {
  TempDir dir;
  FakeTransport transport;
  QueueConfig config;
  std::chrono::system_clock::time_point now = std::chrono::system_clock::from_time_t(1795000000);
  std::vector<std::pair<std::string, std::string>> local;  // (address, message) delivered locally
  std::vector<QueueEvent> events;
  std::unique_ptr<Queue> q;

  Fixture() { config.delay_warning = 0s; }
  fs::path spool() const { return dir.path / "queue"; }
  void open() {
    q = std::make_unique<Queue>(config, spool(), "mx.local.test", transport);
    q->set_clock([this] { return now; });
    q->set_local_route({[](std::string_view d) { return d == "local.test"; },
                        [this](const std::string& a, std::string_view m) {
                          local.emplace_back(a, std::string(m));
                          return RecipientStatus{RecipientOutcome::delivered, 250, "2.0.0", "stored", ""};
                        }});
    q->set_observer([this](const QueueEvent& e) { events.push_back(e); });
    auto st = q->open();
    BOOST_REQUIRE_MESSAGE(static_cast<bool>(st), (st ? std::string() : st.error().message));
  }
  std::string enqueue(std::vector<smtp::QueuedRecipient> rcpts, std::string from = "alice@local.test",
                      std::string ret = "", std::string envid = "") {
    smtp::QueuedEnvelope env{from, envid, ret, false, false, std::move(rcpts)};
    auto id = q->enqueue(env, kMessage);
    BOOST_REQUIRE_MESSAGE(static_cast<bool>(id), (id ? std::string() : id.error().message));
    return *id;
  }
  void run() {
    asio::io_context io;
    asio::co_spawn(io, q->run_once(), asio::detached);
    io.run();
  }
  int count(std::string_view kind) const {
    return static_cast<int>(std::count_if(events.begin(), events.end(), [&](const QueueEvent& e) { return e.kind == kind; }));
  }
};

std::string field(std::string_view text, std::string_view name) {
  auto p = text.find(std::string("\r\n") + std::string(name) + ": ");
  if (p == std::string_view::npos) return "";
  p += name.size() + 4;
  return std::string(text.substr(p, text.find("\r\n", p) - p));
}

}  // namespace

BOOST_AUTO_TEST_CASE(record_round_trip_and_truncation) {
  MessageRecord r;
  r.id = "0190ABCDEF012-00010002";
  r.arrival = 1795000000;
  r.return_path = "alice@local.test";
  r.envid = "env id with spaces %";
  r.ret = "HDRS";
  r.smtputf8 = true;
  r.held = true;
  r.size = 42;
  r.recipients.push_back({"bob@remote.test", "SUCCESS,FAILURE", "rfc822;bob@remote.test", RecipientState::deferred, 3,
                          1795000600, 451, "4.7.1", "mx.remote.test", "Greylisted, try\r\nagain"});
  r.recipients.push_back({"-", "", "", RecipientState::pending, 0, 0, 0, "", "", ""});
  auto text = serialize_record(r);
  auto back = parse_record(text);
  BOOST_REQUIRE_MESSAGE(static_cast<bool>(back), (back ? std::string() : back.error().message));
  BOOST_TEST(back->id == r.id);
  BOOST_TEST(back->envid == r.envid);
  BOOST_TEST(back->ret == "HDRS");
  BOOST_TEST(back->smtputf8);
  BOOST_TEST(back->held);
  BOOST_TEST(!back->eightbit);
  BOOST_REQUIRE_EQUAL(back->recipients.size(), 2u);
  BOOST_TEST(back->recipients[0].last_text == "Greylisted, try\r\nagain");
  BOOST_TEST(back->recipients[0].attempts == 3);
  BOOST_TEST(back->recipients[0].next_attempt == 1795000600);
  BOOST_TEST(back->recipients[0].notify == "SUCCESS,FAILURE");
  BOOST_TEST(back->recipients[1].address == "-");
  BOOST_TEST(back->recipients[1].notify == "");
  // Every proper prefix is refused (no "end" line), as is a wrong version.
  for (std::size_t n = 0; n < text.size(); ++n) BOOST_TEST(!static_cast<bool>(parse_record(text.substr(0, n))), "prefix " << n);
  BOOST_TEST(!static_cast<bool>(parse_record("tern-queue-record 2\n" + text.substr(text.find('\n') + 1))));
  BOOST_TEST(!static_cast<bool>(parse_record(text + "rcpt x\n")));
}

BOOST_AUTO_TEST_CASE(spool_survives_reopen_and_drops_half_written_files) {
  Fixture f;
  f.open();
  auto id = f.enqueue({{"bob@remote.test", "", ""}, {"carol@other.test", "NEVER", "rfc822;carol@other.test"}});
  // One file per message: the record, then the message; no side record until the state changes.
  BOOST_TEST(fs::exists(f.spool() / (id + ".qf")));
  BOOST_TEST(!fs::exists(f.spool() / (id + ".env")));
  BOOST_TEST(!fs::exists(f.spool() / (id + ".msg")));
  // Debris of a crash: a temp file and a (two-file layout) message whose record was never committed.
  std::ofstream(f.spool() / "tmp" / "X.env") << "tern-queue-record 1\nid";
  std::ofstream(f.spool() / "0190ABCDEF012-0000FFFF.msg") << "orphan";
  // Another process cannot take the spool while it is open.
  Queue other(f.config, f.spool(), "h", f.transport);
  BOOST_TEST(other.open().error().category == ErrorCategory::exists);
  f.q.reset();
  f.open();
  auto list = f.q->list();
  BOOST_REQUIRE_EQUAL(list.size(), 1u);
  BOOST_TEST(list[0].id == id);
  BOOST_TEST(list[0].return_path == "alice@local.test");
  BOOST_REQUIRE_EQUAL(list[0].recipients.size(), 2u);
  BOOST_TEST(list[0].recipients[1].orcpt == "rfc822;carol@other.test");
  BOOST_TEST(!fs::exists(f.spool() / "tmp" / "X.env"));
  BOOST_TEST(!fs::exists(f.spool() / "0190ABCDEF012-0000FFFF.msg"));
  // The spooled message has CRLF line ends and arrives at the transport as spooled.
  f.run();
  BOOST_REQUIRE_EQUAL(f.transport.calls.size(), 2u);
  BOOST_TEST(f.transport.bodies[0] == kMessage);
  BOOST_TEST(f.q->list().empty());
  BOOST_TEST(!fs::exists(f.spool() / (id + ".qf")));
  BOOST_TEST(!fs::exists(f.spool() / (id + ".env")));
  BOOST_TEST(f.count("delivered") == 2);
}

BOOST_AUTO_TEST_CASE(bare_lf_is_spooled_as_crlf) {
  Fixture f;
  f.open();
  smtp::QueuedEnvelope env{"a@local.test", "", "", false, false, {{"b@remote.test", "", ""}}};
  auto id = f.q->enqueue(env, "Subject: x\n\nline\nlast");
  BOOST_REQUIRE(static_cast<bool>(id));
  f.run();
  BOOST_TEST(f.transport.bodies.at(0) == "Subject: x\r\n\r\nline\r\nlast\r\n");
}

BOOST_AUTO_TEST_CASE(retry_schedule_and_state_are_durable) {
  Fixture f;
  f.transport.decide = [](const DeliveryRequest&, const DeliveryRecipient&) { return deferred("greylisted"); };
  f.open();
  auto id = f.enqueue({{"bob@remote.test", "", ""}});
  auto t0 = f.now;
  f.run();
  BOOST_TEST(f.transport.calls.size() == 1u);
  auto rec = f.q->show(id);
  BOOST_REQUIRE(static_cast<bool>(rec));
  BOOST_TEST(static_cast<bool>(rec->recipients[0].state == RecipientState::deferred));
  BOOST_TEST(rec->recipients[0].attempts == 1);
  BOOST_TEST(rec->recipients[0].next_attempt == std::chrono::system_clock::to_time_t(t0 + 5min));
  BOOST_TEST(rec->recipients[0].last_text == "greylisted");
  // Not due yet: no attempt.
  f.now += 4min;
  f.run();
  BOOST_TEST(f.transport.calls.size() == 1u);
  // Due: second attempt, then the schedule doubles (5m, 10m, 20m, ...).
  f.now = t0 + 5min;
  f.run();
  BOOST_TEST(f.transport.calls.size() == 2u);
  BOOST_TEST(f.q->show(id)->recipients[0].next_attempt == std::chrono::system_clock::to_time_t(f.now + 10min));
  // The state is on disk: a reopened queue has it.
  f.q.reset();
  f.open();
  rec = f.q->show(id);
  BOOST_REQUIRE(static_cast<bool>(rec));
  BOOST_TEST(rec->recipients[0].attempts == 2);
  BOOST_TEST(rec->recipients[0].next_attempt == std::chrono::system_clock::to_time_t(f.now + 10min));
  // flush() makes it due now.
  f.q->flush();
  f.run();
  BOOST_TEST(f.transport.calls.size() == 3u);
  BOOST_TEST(f.count("deferred") == 3);
}

BOOST_AUTO_TEST_CASE(schedule_caps_at_its_last_step) {
  Fixture f;
  f.config.retry_schedule = {1min, 2min};
  f.transport.decide = [](const DeliveryRequest&, const DeliveryRecipient&) { return deferred(); };
  f.open();
  auto id = f.enqueue({{"bob@remote.test", "", ""}});
  std::vector<std::int64_t> gaps;
  for (int i = 0; i < 4; ++i) {
    f.run();
    auto next = f.q->show(id)->recipients[0].next_attempt;
    gaps.push_back(next - std::chrono::system_clock::to_time_t(f.now));
    f.now = std::chrono::system_clock::from_time_t(next);
  }
  BOOST_TEST(gaps == (std::vector<std::int64_t>{60, 120, 120, 120}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(expiry_bounces_with_4_4_7_to_the_local_sender) {
  Fixture f;
  f.config.max_age = 1h;
  f.transport.decide = [](const DeliveryRequest&, const DeliveryRecipient&) { return deferred("Connection refused"); };
  f.open();
  auto t0 = f.now;
  auto id = f.enqueue({{"bob@remote.test", "", "rfc822;Bob@remote.test"}}, "alice@local.test", "", "ENV-42");
  for (int i = 0; i < 20 && f.q->show(id); ++i) {
    f.run();
    if (auto r = f.q->show(id)) f.now = std::chrono::system_clock::from_time_t(r->recipients[0].next_attempt);
  }
  BOOST_TEST(!f.q->show(id));  // gone from the queue
  BOOST_TEST(f.count("expired") == 1);
  BOOST_TEST(static_cast<bool>(f.now - t0 == 1h));  // last try exactly at the expiry time
  BOOST_REQUIRE_EQUAL(f.local.size(), 1u);  // the DSN went to alice through the local route
  const auto& [to, dsn] = f.local[0];
  BOOST_TEST(to == "alice@local.test");
  BOOST_TEST(dsn.starts_with("Return-Path: <>\r\n"));
  auto m = mime::parse(dsn);
  BOOST_TEST(m.defects.empty());
  BOOST_TEST(m.root().content_type.mime_type() == "multipart/report");
  BOOST_TEST(*mime::find_parameter(m.root().content_type.params, "report-type") == "delivery-status");
  BOOST_REQUIRE_EQUAL(m.root().children.size(), 3u);
  const auto& status = m.parts[m.root().children[1]];
  BOOST_TEST(status.content_type.mime_type() == "message/delivery-status");
  std::string body(m.body(status));
  body = "\r\n" + body;
  BOOST_TEST(field(body, "Reporting-MTA") == "dns; mx.local.test");
  BOOST_TEST(field(body, "Original-Envelope-Id") == "ENV-42");
  BOOST_TEST(field(body, "Final-Recipient") == "rfc822; bob@remote.test");
  BOOST_TEST(field(body, "Original-Recipient") == "rfc822; Bob@remote.test");
  BOOST_TEST(field(body, "Action") == "failed");
  BOOST_TEST(field(body, "Status") == "4.4.7");
  BOOST_TEST(field(body, "Remote-MTA") == "dns; mx.remote.test");
  BOOST_TEST(field(body, "Diagnostic-Code") == "smtp; 451 4.7.1 Connection refused");
  const auto* from = m.root().header("From");
  BOOST_REQUIRE(from);
  BOOST_TEST(std::string(from->value).find("MAILER-DAEMON@mx.local.test") != std::string::npos);
  BOOST_TEST(m.root().header("Auto-Submitted")->unfolded().find("auto-replied") != std::string::npos);
  // RET unset: the whole original comes back.
  const auto& orig = m.parts[m.root().children[2]];
  BOOST_TEST(orig.content_type.mime_type() == "message/rfc822");
  BOOST_TEST(std::string(m.body(orig)).find("Body line two.") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(permanent_failure_dsn_honours_notify_and_ret) {
  Fixture f;
  f.transport.decide = [](const DeliveryRequest&, const DeliveryRecipient& r) {
    return r.address.starts_with("ok") ? RecipientStatus{RecipientOutcome::delivered, 250, "2.0.0", "ok", "mx.remote.test"}
                                       : failed();
  };
  f.open();
  // NEVER: no DSN at all.
  f.enqueue({{"never@remote.test", "NEVER", ""}});
  f.run();
  BOOST_TEST(f.local.empty());
  BOOST_TEST(f.count("failed") == 1);
  // Default NOTIFY with RET=HDRS: a failure DSN with the header only.
  f.enqueue({{"gone@remote.test", "", ""}, {"ok1@remote.test", "", ""}}, "alice@local.test", "HDRS");
  f.run();
  BOOST_REQUIRE_EQUAL(f.local.size(), 1u);
  auto m = mime::parse(f.local[0].second);
  BOOST_REQUIRE_EQUAL(m.root().children.size(), 3u);
  std::string status = "\r\n" + std::string(m.body(m.parts[m.root().children[1]]));
  BOOST_TEST(field(status, "Final-Recipient") == "rfc822; gone@remote.test");
  BOOST_TEST(status.find("ok1@remote.test") == std::string::npos);  // only failed recipients are reported
  BOOST_TEST(field(status, "Status") == "5.1.1");
  BOOST_TEST(field(status, "Diagnostic-Code") == "smtp; 550 5.1.1 no such user");
  const auto& orig = m.parts[m.root().children[2]];
  BOOST_TEST(orig.content_type.mime_type() == "text/rfc822-headers");
  std::string headers(m.body(orig));
  BOOST_TEST(headers.find("Subject: hello") != std::string::npos);
  BOOST_TEST(headers.find("Body line") == std::string::npos);
  // NOTIFY=SUCCESS: a success DSN (relayed), none for the failure it did not ask about.
  f.local.clear();
  f.enqueue({{"ok2@remote.test", "SUCCESS", ""}, {"bad@remote.test", "SUCCESS", ""}});
  f.run();
  BOOST_REQUIRE_EQUAL(f.local.size(), 1u);
  m = mime::parse(f.local[0].second);
  status = "\r\n" + std::string(m.body(m.parts[m.root().children[1]]));
  BOOST_TEST(field(status, "Action") == "relayed");
  BOOST_TEST(field(status, "Final-Recipient") == "rfc822; ok2@remote.test");
  BOOST_TEST(status.find("bad@remote.test") == std::string::npos);
  BOOST_TEST(m.parts[m.root().children[2]].content_type.mime_type() == "text/rfc822-headers");
}

BOOST_AUTO_TEST_CASE(success_dsn_for_local_delivery_and_smtputf8_report_types) {
  Fixture f;
  f.open();
  // A message for a local recipient goes through the local route; NOTIFY=SUCCESS reports "delivered".
  f.enqueue({{"carol@local.test", "SUCCESS", ""}}, "dave@far.test");
  f.run();
  BOOST_REQUIRE_EQUAL(f.local.size(), 1u);
  BOOST_TEST(f.local[0].first == "carol@local.test");
  BOOST_TEST(f.local[0].second.starts_with("Return-Path: <dave@far.test>\r\n"));
  BOOST_REQUIRE_EQUAL(f.transport.calls.size(), 1u);  // the success DSN to dave@far.test
  auto m = mime::parse(f.transport.bodies[0]);
  std::string status = "\r\n" + std::string(m.body(m.parts[m.root().children[1]]));
  BOOST_TEST(field(status, "Action") == "delivered");
  BOOST_TEST(field(status, "Status") == "2.0.0");
  // RFC 6533: an internationalised original gets message/global-* parts and utf-8 address types.
  DsnInput in;
  in.reporting_mta = "mx.local.test";
  in.recipient = "usér@local.test";
  in.queue_id = "0190ABCDEF012-00010002";
  in.smtputf8 = true;
  in.now = 1795000000;
  in.message_id = "d@mx.local.test";
  in.recipients.push_back({"bøb@remote.test", "", DsnAction::failed, "5.1.1", "", 550, "5.1.1 unknown", 0, 0});
  std::string original = "Subject: grüße\r\n\r\nbody\r\n";
  in.original = original;
  auto dsn = compose_dsn(in);
  auto g = mime::parse(dsn);
  BOOST_TEST(*mime::find_parameter(g.root().content_type.params, "report-type") == "global-delivery-status");
  BOOST_REQUIRE_EQUAL(g.root().children.size(), 3u);
  BOOST_TEST(g.parts[g.root().children[1]].content_type.mime_type() == "message/global-delivery-status");
  BOOST_TEST(g.parts[g.root().children[2]].content_type.mime_type() == "message/global");
  status = "\r\n" + std::string(g.body(g.parts[g.root().children[1]]));
  BOOST_TEST(field(status, "Final-Recipient") == "utf-8; bøb@remote.test");
}

BOOST_AUTO_TEST_CASE(never_bounce_a_bounce_but_copy_the_postmaster) {
  Fixture f;
  f.transport.decide = [](const DeliveryRequest&, const DeliveryRecipient&) { return failed(); };
  f.open();
  f.enqueue({{"bob@remote.test", "", ""}}, "");
  f.run();
  BOOST_TEST(f.local.empty());
  BOOST_TEST(f.count("bounce_dropped") == 1);
  BOOST_TEST(f.count("bounced") == 0);
  BOOST_TEST(f.q->list().empty());
  // With a postmaster copy configured the double bounce goes there (and a normal bounce is copied).
  Fixture g;
  g.config.postmaster_copy = "postmaster@local.test";
  g.transport.decide = f.transport.decide;
  g.open();
  g.enqueue({{"bob@remote.test", "", ""}}, "");
  g.run();
  BOOST_REQUIRE_EQUAL(g.local.size(), 1u);
  BOOST_TEST(g.local[0].first == "postmaster@local.test");
  g.local.clear();
  g.enqueue({{"bob@remote.test", "", ""}}, "alice@local.test");
  g.run();
  BOOST_REQUIRE_EQUAL(g.local.size(), 2u);
  BOOST_TEST(g.local[0].first == "alice@local.test");
  BOOST_TEST(g.local[1].first == "postmaster@local.test");
}

BOOST_AUTO_TEST_CASE(bounce_to_a_remote_sender_goes_through_the_transport_with_null_sender) {
  Fixture f;
  f.transport.decide = [](const DeliveryRequest& r, const DeliveryRecipient&) {
    return r.return_path.empty() ? RecipientStatus{RecipientOutcome::delivered, 250, "2.0.0", "ok", "mx"} : failed();
  };
  f.open();
  f.enqueue({{"bob@remote.test", "", ""}}, "carol@far.test");
  f.run();
  BOOST_REQUIRE_EQUAL(f.transport.calls.size(), 2u);
  BOOST_TEST(f.transport.calls[1].return_path == "");
  BOOST_TEST(f.transport.calls[1].domain == "far.test");
  BOOST_TEST(f.transport.calls[1].recipients[0].address == "carol@far.test");
  BOOST_TEST(f.transport.bodies[1].find("Content-Type: multipart/report") != std::string::npos);
  BOOST_TEST(f.q->list().empty());
}

BOOST_AUTO_TEST_CASE(delay_warning_is_sent_once) {
  Fixture f;
  f.config.delay_warning = 4h;
  f.transport.decide = [](const DeliveryRequest&, const DeliveryRecipient&) { return deferred(); };
  f.open();
  auto t0 = f.now;
  auto id = f.enqueue({{"bob@remote.test", "", ""}, {"nodelay@remote.test", "FAILURE", ""}});
  while (f.now - t0 < 10h) {
    f.run();
    f.now = std::chrono::system_clock::from_time_t(f.q->show(id)->recipients[0].next_attempt);
  }
  BOOST_REQUIRE_EQUAL(f.local.size(), 1u);
  auto m = mime::parse(f.local[0].second);
  std::string status = "\r\n" + std::string(m.body(m.parts[m.root().children[1]]));
  BOOST_TEST(field(status, "Action") == "delayed");
  BOOST_TEST(field(status, "Final-Recipient") == "rfc822; bob@remote.test");
  BOOST_TEST(status.find("nodelay@") == std::string::npos);
  BOOST_TEST(!field(status, "Will-Retry-Until").empty());
  BOOST_TEST(f.q->show(id)->delay_warned);
}

BOOST_AUTO_TEST_CASE(hold_release_delete) {
  Fixture f;
  f.open();
  auto a = f.enqueue({{"bob@remote.test", "", ""}});
  auto b = f.enqueue({{"carol@remote.test", "", ""}});
  BOOST_TEST(static_cast<bool>(f.q->hold(a)));
  BOOST_TEST(static_cast<bool>(f.q->remove(b)));
  BOOST_TEST(!fs::exists(f.spool() / (b + ".qf")));
  BOOST_TEST(f.q->remove(b).error().category == ErrorCategory::not_found);
  f.run();
  BOOST_TEST(f.transport.calls.empty());
  // Held survives a restart.
  f.q.reset();
  f.open();
  BOOST_TEST(f.q->show(a)->held);
  f.q->flush();
  f.run();
  BOOST_TEST(f.transport.calls.empty());
  BOOST_TEST(static_cast<bool>(f.q->release(a)));
  f.run();
  BOOST_REQUIRE_EQUAL(f.transport.calls.size(), 1u);
  BOOST_TEST(f.transport.calls[0].queue_id == a);
  BOOST_TEST(f.q->list().empty());
}

BOOST_AUTO_TEST_CASE(per_destination_and_global_caps) {
  Fixture f;
  f.config.per_destination = 2;
  f.config.max_connections = 3;
  f.transport.delay = 20ms;
  f.open();
  for (int i = 0; i < 6; ++i) f.enqueue({{"u" + std::to_string(i) + "@a.test", "", ""}});
  for (int i = 0; i < 6; ++i) f.enqueue({{"u" + std::to_string(i) + "@b.test", "", ""}});
  f.run();
  BOOST_TEST(f.transport.calls.size() == 12u);
  BOOST_TEST(f.transport.max_domain["a.test"] == 2);
  BOOST_TEST(f.transport.max_domain["b.test"] <= 2);
  BOOST_TEST(f.transport.max_active == 3);
  BOOST_TEST(f.q->list().empty());
}

BOOST_AUTO_TEST_CASE(recipients_are_grouped_by_domain) {
  Fixture f;
  f.open();
  f.enqueue({{"a@x.test", "", ""}, {"b@y.test", "", ""}, {"c@X.test", "", ""}});
  f.run();
  BOOST_REQUIRE_EQUAL(f.transport.calls.size(), 2u);
  std::map<std::string, std::size_t> sizes;
  for (const auto& c : f.transport.calls) sizes[c.domain] = c.recipients.size();
  BOOST_TEST(sizes["x.test"] == 2u);
  BOOST_TEST(sizes["y.test"] == 1u);
}

BOOST_AUTO_TEST_CASE(runner_delivers_what_another_thread_enqueues_and_stops) {
  Fixture f;
  // Only a wake-up can make it notice new mail before the poll: everything must be delivered well before it
  // (the wait below is half of it; a loaded machine may take seconds for the fsyncs).
  f.config.control_poll = 60s;
  std::mutex m;
  std::condition_variable cv;
  int delivered = 0;
  f.open();
  f.q->set_observer([&](const QueueEvent& e) {
    std::lock_guard lock(m);
    if (e.kind == "delivered") ++delivered;
    cv.notify_all();
  });
  asio::io_context io;
  asio::co_spawn(io, f.q->run(), asio::detached);
  std::thread runner([&] { io.run(); });
  for (int i = 0; i < 5; ++i) f.enqueue({{"u" + std::to_string(i) + "@remote.test", "", ""}});
  {
    std::unique_lock lock(m);
    cv.wait_for(lock, 30s, [&] { return delivered == 5; });
    BOOST_TEST(delivered == 5);
  }
  f.q->stop();
  runner.join();  // run() returns after stop()
  BOOST_TEST(f.q->list().empty());
}

BOOST_AUTO_TEST_CASE(concurrent_outcomes_of_one_message_all_reach_the_record) {
  Fixture f;
  f.config.recipients_per_delivery = 2;
  f.transport.delay = 10ms;
  f.transport.decide = [](const DeliveryRequest& r, const DeliveryRecipient& rc) {
    if (r.domain == "slow.test") return deferred();
    if (rc.address.starts_with("bad")) return failed();
    return RecipientStatus{RecipientOutcome::delivered, 250, "2.0.0", "ok", "mx"};
  };
  f.config.bounces = false;
  f.open();
  std::vector<smtp::QueuedRecipient> rcpts;
  for (const char* d : {"a.test", "b.test", "c.test", "slow.test"})
    for (int i = 0; i < 5; ++i) rcpts.push_back({(i == 4 ? "bad" : "u") + std::to_string(i) + "@" + d, "", ""});
  auto id = f.enqueue(rcpts);
  f.run();
  // 4 domains x 5 recipients in calls of at most 2: 3 calls per domain, several at once.
  BOOST_TEST(f.transport.calls.size() == 12u);
  for (const auto& c : f.transport.calls) BOOST_TEST(c.recipients.size() <= 2u);
  BOOST_TEST(f.transport.max_active > 1);
  f.q.reset();
  f.open();
  auto rec = f.q->show(id);
  BOOST_REQUIRE(static_cast<bool>(rec));
  int delivered = 0, failed_ = 0, deferred_ = 0;
  for (const auto& r : rec->recipients) {
    if (r.state == RecipientState::delivered) ++delivered;
    if (r.state == RecipientState::failed) ++failed_;
    if (r.state == RecipientState::deferred) ++deferred_;
    BOOST_TEST(r.attempts == 1);
  }
  BOOST_TEST(delivered == 12);
  BOOST_TEST(failed_ == 3);
  BOOST_TEST(deferred_ == 5);
}

BOOST_AUTO_TEST_CASE(control_requests_from_ternctl) {
  Fixture f;
  f.open();
  auto a = f.enqueue({{"bob@remote.test", "", ""}});
  std::ofstream(f.spool() / "ctl" / "1.req") << "hold " << a << "\n";
  std::ofstream(f.spool() / "ctl" / "2.req") << "delete 0190ABCDEF012-0000FFFF\n";
  BOOST_TEST(f.q->process_control_requests() == 2u);
  BOOST_TEST(f.q->show(a)->held);
  std::ifstream r1(f.spool() / "ctl" / "1.res"), r2(f.spool() / "ctl" / "2.res");
  std::string l1, l2;
  std::getline(r1, l1);
  std::getline(r2, l2);
  BOOST_TEST(l1 == "ok");
  BOOST_TEST(l2.starts_with("error: no queued message"));
  BOOST_TEST(!fs::exists(f.spool() / "ctl" / "1.req"));
  // read_spool sees what the owner wrote, without the lock.
  auto seen = Queue::read_spool(f.spool());
  BOOST_REQUIRE(static_cast<bool>(seen));
  BOOST_REQUIRE_EQUAL(seen->size(), 1u);
  BOOST_TEST((*seen)[0].held);
}

BOOST_AUTO_TEST_CASE(transport_that_miscounts_defers_everything) {
  Fixture f;
  struct Short : Transport {
    asio::awaitable<std::vector<RecipientStatus>> deliver(const DeliveryRequest&) override { co_return std::vector<RecipientStatus>{}; }
  } t;
  Queue q(f.config, f.spool(), "h", t);
  BOOST_REQUIRE(static_cast<bool>(q.open()));
  smtp::QueuedEnvelope env{"a@local.test", "", "", false, false, {{"b@remote.test", "", ""}}};
  auto id = q.enqueue(env, kMessage);
  asio::io_context io;
  asio::co_spawn(io, q.run_once(), asio::detached);
  io.run();
  BOOST_TEST(static_cast<bool>(q.show(*id)->recipients[0].state == RecipientState::deferred));
  BOOST_TEST(q.show(*id)->recipients[0].last_code == 451);
}

BOOST_AUTO_TEST_CASE(dsn_is_well_formed_for_python_email) {
  DsnInput in;
  in.reporting_mta = "mx.local.test";
  in.recipient = "alice@local.test";
  in.queue_id = "0190ABCDEF012-00010002";
  in.envid = "E1";
  in.ret = "FULL";
  in.arrival = 1795000000;
  in.now = 1795003600;
  in.message_id = "dsn1@mx.local.test";
  in.recipients.push_back({"bob@remote.test", "rfc822;bob@remote.test", DsnAction::failed, "5.1.1", "mx.remote.test",
                           550, "5.1.1 no such user", 1795003600, 0});
  in.original = kMessage;
  auto dsn = compose_dsn(in);
  fs::path file = fs::temp_directory_path() / ("tern-dsn-" + std::to_string(::getpid()) + ".eml");
  std::ofstream(file, std::ios::binary) << dsn;
  std::string script =
      "import email,sys\n"
      "from email import policy\n"
      "m=email.message_from_binary_file(open(sys.argv[1],'rb'),policy=policy.default)\n"
      "assert not m.defects, m.defects\n"
      "assert m.get_content_type()=='multipart/report', m.get_content_type()\n"
      "assert m.get_param('report-type')=='delivery-status'\n"
      "p=m.get_payload()\n"
      "assert [x.get_content_type() for x in p]==['text/plain','message/delivery-status','message/rfc822'], p\n"
      "st=p[1].get_payload()\n"
      "assert st[0]['Reporting-MTA']=='dns; mx.local.test', st[0]['Reporting-MTA']\n"
      "assert st[1]['Action']=='failed' and st[1]['Status']=='5.1.1'\n"
      "assert st[1]['Final-Recipient']=='rfc822; bob@remote.test'\n"
      "assert p[2].get_payload()[0]['Subject']=='hello'\n"
      "for part in m.walk(): assert not part.defects, part.defects\n"
      "print('ok')\n";
  fs::path py = file;
  py.replace_extension(".py");
  std::ofstream(py) << script;
  std::string cmd = "/usr/bin/python3 " + py.string() + " " + file.string() + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  BOOST_REQUIRE(p);
  char buf[4096];
  std::string out;
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  int rc = ::pclose(p);
  fs::remove(file);
  fs::remove(py);
  BOOST_TEST(rc == 0);
  BOOST_TEST(out == "ok\n");
}

BOOST_AUTO_TEST_CASE(queue_config_section) {
  ConfigDiagnostics diag;
  auto doc = ConfigDocument::load_string(
      "[queue]\nretry_schedule = [\"1m\", \"1h\"]\nmax_age = \"2d\"\ndelay_warning = \"0s\"\nper_destination = 8\n"
      "max_connections = 50\nbounces = false\npostmaster_copy = \"pm@example.org\"\n",
      "t.toml", "/etc/tern", diag);
  auto root = doc->root(diag);
  QueueConfig c;
  auto s = root->table("queue");
  BOOST_REQUIRE(s);
  BOOST_TEST(static_cast<bool>(parse_queue_config(*s, c)));
  BOOST_TEST(diag.ok());
  BOOST_TEST(c.retry_schedule.size() == 2u);
  BOOST_TEST(c.retry_schedule[1].count() == 3600);
  BOOST_TEST(c.max_age.count() == 2 * 86400);
  BOOST_TEST(c.delay_warning.count() == 0);
  BOOST_TEST(c.per_destination == 8);
  BOOST_TEST(c.max_connections == 50);
  BOOST_TEST(!c.bounces);
  BOOST_TEST(c.postmaster_copy == "pm@example.org");
  ConfigDiagnostics bad;
  auto doc2 = ConfigDocument::load_string("[queue]\nretry_schedule = [\"soon\"]\nper_destination = 0\nfoo = 1\n", "t.toml",
                                          "/etc/tern", bad);
  auto s2 = doc2->root(bad)->table("queue");
  QueueConfig c2;
  BOOST_TEST(static_cast<bool>(!parse_queue_config(*s2, c2)));
  BOOST_TEST(bad.issues().size() == 3u);
  BOOST_TEST(c2.retry_schedule.size() == 7u);  // default kept
}

// ---- the spool files: one queue file per message, side records, the two-file layout of earlier versions ----

namespace {

// Captures the log lines while alive (what an operator reads).
struct LogCapture {
  std::mutex m;
  std::vector<std::string> lines;
  LogCapture() {
    log::set_sink([this](log::Level, std::string_view line) {
      std::lock_guard lock(m);
      lines.emplace_back(line);
    });
  }
  ~LogCapture() { log::set_sink({}); }
  bool has(std::string_view event, std::string_view text) {
    std::lock_guard lock(m);
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.find(event) != std::string::npos && l.find(text) != std::string::npos;
    });
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void put(const fs::path& p, std::string_view data) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

MessageRecord record_of(std::string id, std::int64_t arrival, std::vector<std::string> rcpts, std::uint64_t size) {
  MessageRecord r;
  r.id = std::move(id);
  r.arrival = arrival;
  r.return_path = "alice@local.test";
  r.size = size;
  for (auto& a : rcpts) {
    RecipientRecord p;
    p.address = std::move(a);
    p.next_attempt = arrival;
    r.recipients.push_back(std::move(p));
  }
  return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(queue_file_is_the_record_then_exactly_the_message) {
  auto r = record_of("0190ABCDEF012-00000001", 1795000000, {"bob@remote.test"}, 0);
  // A message that has an "end" line of its own: the record's end line comes first.
  const std::string message = "Subject: x\r\n\r\nend\nend\r\n.\r\n";
  r.size = message.size();
  const std::string head = serialize_record(r);
  const std::string file = head + message;
  BOOST_TEST(record_length(file) == head.size());
  auto h = parse_queue_file_head(file, file.size());
  BOOST_REQUIRE_MESSAGE(static_cast<bool>(h), (h ? "" : h.error().message));
  BOOST_TEST(h->body_offset == head.size());
  BOOST_TEST(h->rec.id == r.id);
  BOOST_TEST(file.substr(h->body_offset) == message);
  // Truncated, extended, cut inside the record, not a queue file at all: never taken for a message.
  BOOST_TEST(!static_cast<bool>(parse_queue_file_head(file, file.size() - 1)));
  BOOST_TEST(!static_cast<bool>(parse_queue_file_head(file, file.size() + 1)));
  BOOST_TEST(record_length(file.substr(0, head.size() - 1)) == 0u);
  BOOST_TEST(!static_cast<bool>(parse_queue_file_head(file.substr(0, head.size() - 2), file.size())));
  BOOST_TEST(record_length(message) == 0u);
  BOOST_TEST(!static_cast<bool>(parse_queue_file_head(message, message.size())));
}

BOOST_AUTO_TEST_CASE(one_file_per_message_and_finished_files_are_reused) {
  Fixture f;
  f.open();
  auto a = f.enqueue({{"bob@remote.test", "", ""}});
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(f.spool()))
    if (e.is_regular_file()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  BOOST_TEST(names == (std::vector<std::string>{a + ".qf", "lock"}));
  auto text = slurp(f.spool() / (a + ".qf"));
  BOOST_TEST(text.starts_with("tern-queue-record 1\nid " + a + "\n"));
  BOOST_TEST(text.ends_with("\nend\n" + kMessage));
  BOOST_TEST(Queue::read_message(f.spool(), a).value_or("") == kMessage);
  struct stat before {};
  BOOST_REQUIRE(::stat((f.spool() / (a + ".qf")).c_str(), &before) == 0);
  // Delivered at the first attempt: no record rewrite, the queue file goes to free/ and is reused.
  f.run();
  BOOST_TEST(f.count("delivered") == 1);
  BOOST_TEST(!fs::exists(f.spool() / (a + ".qf")));
  BOOST_TEST(!fs::exists(f.spool() / (a + ".env")));
  auto b = f.enqueue({{"carol@remote.test", "", ""}});
  struct stat after {};
  BOOST_REQUIRE(::stat((f.spool() / (b + ".qf")).c_str(), &after) == 0);
  BOOST_TEST(after.st_ino == before.st_ino);
  BOOST_TEST(Queue::read_message(f.spool(), b).value_or("") == kMessage);
}

BOOST_AUTO_TEST_CASE(a_deferred_message_keeps_its_state_in_a_side_record_across_restarts) {
  Fixture f;
  f.transport.decide = [](const DeliveryRequest&, const DeliveryRecipient&) { return deferred("greylisted"); };
  f.open();
  auto id = f.enqueue({{"bob@remote.test", "", ""}});
  const fs::path qf = f.spool() / (id + ".qf"), env = f.spool() / (id + ".env");
  const auto arrival = slurp(qf);
  f.run();
  BOOST_TEST(f.count("deferred") == 1);
  // The queue file is never rewritten: the new state is the side record.
  BOOST_TEST(slurp(qf) == arrival);
  BOOST_REQUIRE(fs::exists(env));
  auto side = parse_record(slurp(env));
  BOOST_REQUIRE(static_cast<bool>(side));
  BOOST_TEST(side->recipients[0].attempts == 1);
  BOOST_TEST(side->recipients[0].last_text == "greylisted");
  // After a restart the side record wins over the record of arrival; ternctl's reader agrees.
  f.q.reset();
  f.open();
  BOOST_TEST(f.q->show(id)->recipients[0].attempts == 1);
  BOOST_TEST(static_cast<bool>(f.q->show(id)->recipients[0].state == RecipientState::deferred));
  auto listed = Queue::read_spool(f.spool());
  BOOST_REQUIRE(listed && listed->size() == 1u);
  BOOST_TEST((*listed)[0].recipients[0].attempts == 1);
  // Due again and delivered: both files go, and a reopened spool is empty.
  f.transport.decide = [](const DeliveryRequest&, const DeliveryRecipient&) {
    return RecipientStatus{RecipientOutcome::delivered, 250, "2.0.0", "ok", "mx.remote.test"};
  };
  f.now += 5min;
  f.run();
  BOOST_TEST(f.transport.bodies.back() == kMessage);
  BOOST_TEST(f.count("delivered") == 1);
  BOOST_TEST(!fs::exists(qf));
  BOOST_TEST(!fs::exists(env));
  f.q.reset();
  f.open();
  BOOST_TEST(f.q->list().empty());
  BOOST_TEST(f.transport.calls.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_spool_of_the_two_file_layout_opens_and_delivers) {
  Fixture f;
  // bob is greylisted once, carol fails (a DSN quoting the original goes to the local sender).
  int bob_tries = 0;
  f.transport.decide = [&](const DeliveryRequest&, const DeliveryRecipient& r) {
    if (r.address.starts_with("carol")) return failed();
    return ++bob_tries == 1 ? deferred("greylisted")
                            : RecipientStatus{RecipientOutcome::delivered, 250, "2.0.0", "ok", "mx.remote.test"};
  };
  // What an earlier version left: <id>.msg (the message alone) and its record <id>.env; and the .msg of an
  // enqueue that crashed before its record (never acknowledged).
  fs::create_directories(f.spool());
  const std::string id = "0190ABCDEF012-00000042";
  auto rec = record_of(id, std::chrono::system_clock::to_time_t(f.now), {"bob@remote.test", "carol@remote.test"},
                       kMessage.size());
  put(f.spool() / (id + ".msg"), kMessage);
  put(f.spool() / (id + ".env"), serialize_record(rec));
  put(f.spool() / "0190ABCDEF012-00000043.msg", kMessage);
  auto listed = Queue::read_spool(f.spool());
  BOOST_REQUIRE(listed && listed->size() == 1u);
  BOOST_TEST((*listed)[0].id == id);
  BOOST_TEST(Queue::read_message(f.spool(), id).value_or("") == kMessage);
  f.open();
  BOOST_REQUIRE_EQUAL(f.q->list().size(), 1u);
  BOOST_TEST(!fs::exists(f.spool() / "0190ABCDEF012-00000043.msg"));
  f.run();
  BOOST_REQUIRE_EQUAL(f.transport.bodies.size(), 1u);  // bob and carol in one call to remote.test
  BOOST_TEST(f.transport.bodies[0] == kMessage);
  // carol's DSN, stored locally for alice, quotes the original message.
  BOOST_REQUIRE_EQUAL(f.local.size(), 1u);
  BOOST_TEST(f.local[0].first == "alice@local.test");
  BOOST_TEST(f.local[0].second.find("Body line two.") != std::string::npos);
  BOOST_TEST(f.local[0].second.find("carol@remote.test") != std::string::npos);
  // bob's deferral rewrote the old record in place of the old layout; a restart still reads it.
  BOOST_TEST(fs::exists(f.spool() / (id + ".msg")));
  BOOST_TEST(!fs::exists(f.spool() / (id + ".qf")));
  f.q.reset();
  f.open();
  auto shown = f.q->show(id);
  BOOST_REQUIRE(static_cast<bool>(shown));
  BOOST_TEST(shown->recipients[0].attempts == 1);
  BOOST_TEST(static_cast<bool>(shown->recipients[1].state == RecipientState::failed));
  f.now += 5min;
  f.run();
  BOOST_TEST(bob_tries == 2);
  BOOST_TEST(f.transport.bodies.back() == kMessage);
  BOOST_TEST(f.q->list().empty());
  BOOST_TEST(!fs::exists(f.spool() / (id + ".msg")));
  BOOST_TEST(!fs::exists(f.spool() / (id + ".env")));
}

BOOST_AUTO_TEST_CASE(a_damaged_queue_file_is_left_in_place_and_reported) {
  Fixture f;
  f.open();
  auto cut = f.enqueue({{"a@remote.test", "", ""}});
  auto garbled = f.enqueue({{"b@remote.test", "", ""}});
  auto longer = f.enqueue({{"c@remote.test", "", ""}});
  auto bad_side = f.enqueue({{"d@remote.test", "", ""}});
  auto good = f.enqueue({{"e@remote.test", "", ""}});
  f.q.reset();
  auto path = [&](const std::string& id, const char* ext) { return f.spool() / (id + ext); };
  fs::resize_file(path(cut, ".qf"), fs::file_size(path(cut, ".qf")) - 3);  // the message's end is lost
  auto g = slurp(path(garbled, ".qf"));
  g[g.find("\nsize ") + 1] = 'S';  // an unknown key in its record
  put(path(garbled, ".qf"), g);
  put(path(longer, ".qf"), slurp(path(longer, ".qf")) + "more\r\n");
  put(path(bad_side, ".env"), "tern-queue-record 1\nid " + bad_side + "\n");  // a side record cut short
  std::map<fs::path, std::string> damaged;
  for (const auto& p : {path(cut, ".qf"), path(garbled, ".qf"), path(longer, ".qf"), path(bad_side, ".qf"),
                        path(bad_side, ".env")})
    damaged[p] = slurp(p);
  {
    LogCapture logs;
    f.open();
    BOOST_TEST(logs.has("queue.file_invalid", cut));
    BOOST_TEST(logs.has("queue.file_invalid", garbled));
    BOOST_TEST(logs.has("queue.file_invalid", longer));
    BOOST_TEST(logs.has("queue.record_invalid", bad_side));
  }
  auto list = f.q->list();
  BOOST_REQUIRE_EQUAL(list.size(), 1u);
  BOOST_TEST(list[0].id == good);
  auto listed = Queue::read_spool(f.spool());
  BOOST_REQUIRE(static_cast<bool>(listed));
  BOOST_TEST(listed->size() == 1u);
  f.run();
  BOOST_REQUIRE_EQUAL(f.transport.calls.size(), 1u);
  BOOST_TEST(f.transport.calls[0].queue_id == good);
  // Never deleted, never changed: they wait for the operator, through any number of restarts.
  f.q.reset();
  f.open();
  for (const auto& [p, bytes] : damaged) {
    BOOST_TEST(fs::exists(p), p.string());
    BOOST_TEST((slurp(p) == bytes), p.string());
  }
}

BOOST_AUTO_TEST_CASE(a_finished_message_cut_short_by_a_crash_is_removed_and_a_lost_one_reported) {
  Fixture f;
  f.transport.decide = [](const DeliveryRequest&, const DeliveryRecipient&) { return deferred(); };
  f.open();
  auto a = f.enqueue({{"a@remote.test", "", ""}});
  auto b = f.enqueue({{"b@remote.test", "", ""}});
  auto c = f.enqueue({{"c@remote.test", "", ""}});
  f.run();  // all deferred: each has a side record now
  f.q.reset();
  auto path = [&](const std::string& id, const char* ext) { return f.spool() / (id + ext); };
  auto finish = [&](const std::string& id) {
    auto r = parse_record(slurp(path(id, ".env")));
    BOOST_REQUIRE(static_cast<bool>(r));
    for (auto& p : r->recipients) p.state = RecipientState::delivered;
    put(path(id, ".env"), serialize_record(*r));
  };
  // a: the crash came right after its final side record; b: also after its queue file's removal.
  finish(a);
  finish(b);
  fs::remove(path(b, ".qf"));
  // c: its queue file was lost (not by a crash of ours): the side record names what was lost.
  fs::remove(path(c, ".qf"));
  {
    LogCapture logs;
    f.open();
    BOOST_TEST(logs.has("queue.message_missing", c));
    BOOST_TEST(logs.has("queue.finished_removed", a));
  }
  BOOST_TEST(f.q->list().empty());
  BOOST_TEST(!fs::exists(path(a, ".qf")));
  BOOST_TEST(!fs::exists(path(a, ".env")));
  BOOST_TEST(!fs::exists(path(b, ".env")));
  BOOST_TEST(fs::exists(path(c, ".env")));
  f.run();
  BOOST_TEST(f.transport.calls.size() == 3u);  // only the first attempts: nothing delivered again
}
