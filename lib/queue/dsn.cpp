// RFC 3464 delivery status notifications in an RFC 6522 multipart/report, built with the message model.
#include "tern/queue/dsn.hpp"

#include <fmt/format.h>

#include "tern/mime/builder.hpp"
#include "tern/mime/date.hpp"

namespace tern::queue {
namespace {

// A field value on one line: CR/LF and other controls become spaces, at most `max` octets.
std::string one_line(std::string_view v, std::size_t max = 900) {
  std::string out;
  for (char c : v) {
    if (out.size() >= max) break;
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
  }
  return out;
}

bool ascii(std::string_view v) {
  for (unsigned char c : v)
    if (c >= 0x80) return false;
  return true;
}

std::string date(std::int64_t t) { return mime::format_date_time(mime::date_time_from_unix(t, 0)); }

// RFC 3464 2.3.2 / RFC 6533 3: "rfc822; addr", or "utf-8; addr" for an internationalised address.
std::string typed_address(std::string_view addr) {
  return fmt::format("{}; {}", ascii(addr) ? "rfc822" : "utf-8", one_line(addr));
}

// ORCPT arrives as "type;addr" (RFC 3461 4.2); written back as "type; addr".
std::string original_recipient(std::string_view orcpt) {
  auto semi = orcpt.find(';');
  if (semi == std::string_view::npos) return typed_address(orcpt);
  return fmt::format("{}; {}", one_line(orcpt.substr(0, semi)), one_line(orcpt.substr(semi + 1)));
}

}  // namespace

std::string_view to_string(DsnAction a) noexcept {
  switch (a) {
    case DsnAction::failed: return "failed";
    case DsnAction::delayed: return "delayed";
    case DsnAction::delivered: return "delivered";
    case DsnAction::relayed: return "relayed";
    case DsnAction::expanded: return "expanded";
  }
  return "failed";
}

std::string_view header_block(std::string_view message) {
  if (message.starts_with("\r\n") || message.starts_with("\n")) return {};
  auto end = message.find("\r\n\r\n");
  auto lf = message.find("\n\n");
  if (end == std::string_view::npos && lf == std::string_view::npos) return message;
  if (end == std::string_view::npos || (lf != std::string_view::npos && lf < end)) return message.substr(0, lf + 1);
  return message.substr(0, end + 2);
}

std::string compose_dsn(const DsnInput& in) {
  DsnAction kind = in.recipients.empty() ? DsnAction::failed : in.recipients.front().action;
  bool failure = kind == DsnAction::failed;
  bool delay = kind == DsnAction::delayed;
  // RFC 3461 4.3: RET=HDRS asks for the headers only; delay and success reports carry headers only too.
  bool full = failure && in.ret != "HDRS";
  bool intl = in.smtputf8;  // RFC 6533: message/global-* when the original needed SMTPUTF8
  std::string_view original = in.original;
  std::string_view returned = full ? original : header_block(original);

  // 1. The human-readable part (RFC 6522 3).
  std::string text = fmt::format("This is the mail system at host {}.\r\n\r\n", in.reporting_mta);
  if (failure)
    text += "I'm sorry to have to inform you that your message could not be delivered to one or more\r\n"
            "recipients. It is attached below.\r\n";
  else if (delay)
    text += fmt::format("Your message could not be delivered yet to one or more recipients. The mail system will\r\n"
                        "keep trying{}; you do not need to send it again.\r\n",
                        in.recipients.front().will_retry_until
                            ? " until " + date(in.recipients.front().will_retry_until)
                            : std::string());
  else
    text += "Your message was successfully delivered to the destination(s) listed below.\r\n";
  text += "\r\n";
  for (const auto& r : in.recipients) {
    text += fmt::format("<{}>: ", one_line(r.final_recipient));
    if (r.code)
      text += fmt::format("{}{} said: {} {}\r\n", r.remote_mta.empty() ? "we" : "host ", one_line(r.remote_mta), r.code,
                          one_line(r.diagnostic));
    else
      text += fmt::format("{} ({})\r\n", one_line(r.diagnostic.empty() ? std::string(to_string(r.action)) : r.diagnostic),
                          one_line(r.status));
  }
  auto notification = mime::MimePart::text(text);
  notification.headers.emplace_back("Content-Description", "Notification");

  // 2. The machine-readable part (RFC 3464 2.2, 2.3).
  std::string m;
  m += fmt::format("Reporting-MTA: dns; {}\r\n", in.reporting_mta);
  m += fmt::format("X-Tern-Queue-ID: {}\r\n", in.queue_id);
  if (!in.envid.empty()) m += fmt::format("Original-Envelope-Id: {}\r\n", one_line(in.envid));
  if (in.arrival) m += fmt::format("Arrival-Date: {}\r\n", date(in.arrival));
  for (const auto& r : in.recipients) {
    m += "\r\n";
    if (!r.original_recipient.empty())
      m += fmt::format("Original-Recipient: {}\r\n", original_recipient(r.original_recipient));
    m += fmt::format("Final-Recipient: {}\r\n", typed_address(r.final_recipient));
    m += fmt::format("Action: {}\r\n", to_string(r.action));
    m += fmt::format("Status: {}\r\n", r.status.empty() ? (failure ? "5.0.0" : delay ? "4.0.0" : "2.0.0") : r.status);
    if (!r.remote_mta.empty()) m += fmt::format("Remote-MTA: dns; {}\r\n", one_line(r.remote_mta));
    if (r.code)
      m += fmt::format("Diagnostic-Code: smtp; {}{}\r\n", r.code, r.diagnostic.empty() ? "" : " " + one_line(r.diagnostic));
    if (r.last_attempt) m += fmt::format("Last-Attempt-Date: {}\r\n", date(r.last_attempt));
    if (delay && r.will_retry_until) m += fmt::format("Will-Retry-Until: {}\r\n", date(r.will_retry_until));
  }
  auto status = mime::MimePart::data(m, intl ? "message/global-delivery-status" : "message/delivery-status");
  status.headers.emplace_back("Content-Description", "Delivery report");

  // 3. The original message or its header (RFC 6522 text/rfc822-headers, RFC 6533 message/global-headers).
  std::string returned_copy(returned);
  if (!returned_copy.empty() && !returned_copy.ends_with("\n")) returned_copy += "\r\n";
  auto attached = full ? mime::MimePart::message(returned_copy, intl)
                       : mime::MimePart::data(returned_copy, intl ? "message/global-headers" : "text/rfc822-headers");
  attached.headers.emplace_back("Content-Description", full ? "Undelivered Message" : "Message Headers");

  std::string subject = failure ? "Undelivered Mail Returned to Sender"
                        : delay ? "Delayed Mail (still being retried)"
                                : "Successful Mail Delivery Report";
  mime::MessageBuilder b;
  b.date(date(in.now))
      .from(mime::make_mailbox("Mail Delivery System", "MAILER-DAEMON@" + in.reporting_mta))
      .to(mime::make_mailbox("", one_line(in.recipient)))
      .subject(subject)
      .message_id(in.message_id)
      .structured_header("Auto-Submitted", "auto-replied")  // RFC 3834 5
      .body(mime::MimePart::multipart(
          "report", {std::move(notification), std::move(status), std::move(attached)},
          {{"report-type", intl ? "global-delivery-status" : "delivery-status"}}));
  mime::BuildOptions options;
  options.allow_8bit = true;      // an 8-bit original is returned as it is (it travelled as 8BITMIME)
  options.utf8_headers = intl;    // RFC 6533: the report goes back over SMTPUTF8
  return b.build(options);
}

}  // namespace tern::queue
