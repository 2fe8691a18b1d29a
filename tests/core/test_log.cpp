#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "tern/core/log.hpp"

using namespace tern;

BOOST_AUTO_TEST_CASE(text_lines_are_key_value_with_quoting) {
  auto line = log::format_line(log::Format::text, log::Level::warn, "s1", "auth.failed",
                               {{"ip", "192.0.2.1"}, {"user", "a b"}, {"tries", 3}, {"why", "say \"no\""}});
  // timestamp first, then level, event, session, fields in order
  BOOST_TEST(line.find("Z warn  auth.failed session=s1 ip=192.0.2.1 user=\"a b\" tries=3 why=\"say \\\"no\\\"\"")
             != std::string::npos, line);
  BOOST_TEST(line.find('\n') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(newlines_in_values_cannot_forge_a_second_line) {
  auto line = log::format_line(log::Format::text, log::Level::info, "s", "e", {{"helo", "x\ninfo fake.event"}});
  BOOST_TEST(line.find('\n') == std::string::npos);
  BOOST_TEST(line.find("helo=\"x\\ninfo fake.event\"") != std::string::npos, line);
}

BOOST_AUTO_TEST_CASE(json_lines_escape_and_keep_fields) {
  auto line = log::format_line(log::Format::json, log::Level::info, "s9", "listener.started",
                               {{"service", "smtp"}, {"note", "tab\there"}});
  BOOST_TEST(line.front() == '{');
  BOOST_TEST(line.back() == '}');
  BOOST_TEST(line.find("\"level\":\"info\",\"event\":\"listener.started\",\"session\":\"s9\",\"service\":\"smtp\",\"note\":\"tab\\there\"") != std::string::npos, line);
}

BOOST_AUTO_TEST_CASE(sink_receives_only_enabled_levels) {
  std::vector<std::string> lines;
  log::set_sink([&](log::Level, std::string_view l) { lines.emplace_back(l); });
  log::configure({log::Level::warn, log::Format::text});
  log::info("hidden.event");
  log::warn("shown.event", {{"k", "v"}});
  log::SessionLog s("abc");
  s.error("session.event");
  log::set_sink({});
  log::configure({});
  BOOST_REQUIRE_EQUAL(lines.size(), 2u);
  BOOST_TEST(lines[0].find("shown.event session=- k=v") != std::string::npos);
  BOOST_TEST(lines[1].find("session.event session=abc") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(session_ids_are_unique) {
  auto a = log::new_session_id();
  auto b = log::new_session_id();
  BOOST_TEST(a != b);
  BOOST_TEST(a.size() >= 6u);
}
