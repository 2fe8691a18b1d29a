// APPEND (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502), literal8 (RFC 3516 §4.4), UTF8 (RFC 6855 §4)
// and CATENATE (RFC 4469). Runs on a worker thread (see imap_session.hpp).
//
// Order of checks, as Dovecot's: the syntax of every message first (BAD), then the destination (NO
// [TRYCREATE]), then each CATENATE message is assembled (NO [BADURL url], NO [TOOBIG]), and only then
// is anything stored; MULTIAPPEND is all or nothing.
#include <algorithm>
#include <list>

#include <fmt/format.h>

#include "imap_session.hpp"
#include "tern/imap/catenate.hpp"
#include "tern/imap/command_args.hpp"
#include "tern/imap/search.hpp"
#include "tern/imap/section.hpp"
#include "tern/mime/message.hpp"

namespace tern::imap {

Result<std::string> ImapSession::catenate_url(const std::string& url_text) {
  auto url = parse_imap_url(url_text, user_name_, d_.hostname);
  if (!url) return fail(url.error());
  auto st = user_->status(url->mailbox);
  if (!st) return fail(ErrorCategory::not_found, "The URL's mailbox does not exist.");
  // RFC 5092: a URL with a UIDVALIDITY names nothing once the mailbox's UIDVALIDITY changed.
  if (url->uid_validity && *url->uid_validity != st->uid_validity)
    return fail(ErrorCategory::not_found, "The URL's UIDVALIDITY does not match the mailbox.");
  // Reading a URL's message leaves its flags alone (\Seen included, as Dovecot): it is not a FETCH.
  auto raw = user_->fetch(url->mailbox, url->uid);
  if (!raw) return fail(ErrorCategory::not_found, "The URL's message does not exist.");
  if (!url->section) return std::string(apply_partial(*raw, url->partial));
  auto parsed = mime::parse(*raw);
  std::string data = fetch_section(parsed, *url->section);
  return std::string(apply_partial(data, url->partial));
}

void ImapSession::cmd_append(const Command& cmd) {
  const std::string& tag = cmd.tag;
  const auto& a = cmd.args;
  if (a.size() < 2) {
    bad(tag, "APPEND needs a mailbox name and a message literal");
    return;
  }
  auto name = mailbox_arg(a[0]);
  if (!name) {
    reject_mailbox_arg(tag, name.error());
    return;
  }
  const std::uint64_t limit = d_.settings.append_limit;
  struct One {
    store::AppendRequest request;
    const std::string* message = nullptr;  // a literal's bytes, or the assembled CATENATE message
    bool literal8 = false;
    std::vector<CatenatePart> parts;  // CATENATE: assembled once the destination is known to exist
  };
  std::vector<One> batch;
  std::list<std::string> normalized;  // stable addresses for assembled and CRLF-fixed copies
  std::size_t i = 1;
  while (i < a.size()) {  // RFC 3502 MULTIAPPEND: [flags] [date-time] (literal / CATENATE (...)), repeated
    One one;
    if (a[i].is_list()) {
      auto flags = parse_flags(a[i], true);
      if (!flags) {
        bad(tag, flags.error().message);
        return;
      }
      one.request.flags = *flags;
      ++i;
    }
    if (i < a.size() && a[i].type == Arg::Type::quoted) {
      auto date = parse_date_time(a[i].value);
      if (!date) {
        bad(tag, date.error().message);
        return;
      }
      one.request.internal_date = *date;
      ++i;
    }
    // RFC 4469 §5: append-data =/ "CATENATE" SP "(" cat-part *(SP cat-part) ")".
    if (i < a.size() && a[i].is_keyword("CATENATE")) {
      if (i + 1 >= a.size()) {
        bad(tag, "CATENATE needs a parenthesised list of TEXT and URL parts");
        return;
      }
      auto parts = parse_catenate(a[i + 1], utf8_);
      if (!parts) {
        if (parts.error().category == ErrorCategory::limit) no(tag, parts.error().message, "LIMIT");
        else bad(tag, parts.error().message);
        return;
      }
      one.parts = std::move(*parts);
      batch.push_back(std::move(one));
      i += 2;
      continue;
    }
    // RFC 6855 §4: after ENABLE UTF8=ACCEPT a message with UTF-8 headers comes as UTF8 (literal8).
    const Arg* lit = i < a.size() ? &a[i] : nullptr;
    if (lit && lit->is_keyword("UTF8")) {
      if (!utf8_) {
        bad(tag, "APPEND UTF8 needs ENABLE UTF8=ACCEPT first");
        return;
      }
      if (i + 1 >= a.size() || !a[i + 1].is_list() || a[i + 1].list.size() != 1 ||
          a[i + 1].list[0].type != Arg::Type::literal) {
        bad(tag, "APPEND UTF8 needs the message as a parenthesised literal: UTF8 (~{n}...)");
        return;
      }
      lit = &a[i + 1].list[0];
      ++i;
    }
    if (!lit || lit->type != Arg::Type::literal) {
      bad(tag, "APPEND needs the message as a literal");
      return;
    }
    if (lit->value.empty()) {
      no(tag, "An empty message cannot be appended", "CANNOT");
      return;
    }
    if (lit->value.size() > limit) {
      no(tag, fmt::format("The message is larger than the limit of {} bytes", limit), "TOOBIG");
      return;
    }
    one.message = &lit->value;
    one.literal8 = lit->literal8;
    batch.push_back(std::move(one));
    ++i;
  }
  auto st = user_->status(*name);
  if (!st) {
    if (st.error().category == ErrorCategory::not_found) no(tag, "Mailbox does not exist: " + *name, "TRYCREATE");
    else no_from(tag, st.error(), "APPEND");
    return;
  }
  const UrlFetcher fetch_url = [this](const std::string& url) { return catenate_url(url); };
  for (auto& one : batch) {
    if (one.parts.empty()) continue;
    // RFC 4469 §3: the parts in order; BADURL, TOOBIG (APPENDLIMIT, RFC 7889) and an empty result refuse
    // the whole command.
    auto assembled = assemble_catenate(one.parts, limit, fetch_url);
    if (!assembled) {
      const auto& f = assembled.error();
      no(tag, f.message, f.code == "BADURL" ? "BADURL " + url_resp_text(f.url) : f.code);
      return;
    }
    one.literal8 = assembled->literal8;
    normalized.push_back(std::move(assembled->message));
    one.message = &normalized.back();
  }
  for (auto& one : batch) {
    // RFC 3516 §4.4: binary parts of a literal8 are stored base64-encoded (Dovecot does the same), so
    // BODY[] stays text while BINARY[] gives the original bytes back.
    if (one.literal8) {
      if (auto converted = binary_parts_to_base64(*one.message)) {
        normalized.push_back(std::move(*converted));
        one.message = &normalized.back();
      }
    }
    // RFC 9051 §2.3.1: messages are CRLF-terminated lines. Clients that send bare LF (imaptest's mbox
    // files, some scripts) get it fixed once here, so sizes and sections agree everywhere afterwards.
    // A literal8 (RFC 3516 §4.4) carries binary content: only its header is fixed, the body is kept as is.
    const std::string& v = *one.message;
    if (v.find('\n') != std::string::npos) {
      std::string fixed;
      fixed.reserve(v.size() + v.size() / 32);
      std::size_t end = v.size();
      if (one.literal8) {
        std::size_t crlf = v.find("\r\n\r\n"), lf = v.find("\n\n");
        end = std::min(crlf == std::string::npos ? v.size() : crlf + 4, lf == std::string::npos ? v.size() : lf + 2);
      }
      for (std::size_t k = 0; k < v.size(); ++k) {
        if (k < end && v[k] == '\n' && (k == 0 || v[k - 1] != '\r')) fixed += '\r';
        fixed += v[k];
      }
      if (fixed.size() != v.size()) {
        normalized.push_back(std::move(fixed));
        one.message = &normalized.back();
      }
    }
  }
  std::vector<std::uint32_t> uids;
  for (const auto& one : batch) {
    auto uid = user_->append_message(*name, *one.message, one.request);
    if (!uid) {
      // MULTIAPPEND is all or nothing (RFC 3502 §6.3.11): take back what this command stored.
      if (!uids.empty()) (void)user_->expunge(*name, uids);
      if (uid.error().category == ErrorCategory::not_found) no(tag, "Mailbox does not exist: " + *name, "TRYCREATE");
      else no_from(tag, uid.error(), "APPEND");
      return;
    }
    uids.push_back(*uid);
  }
  ok(tag, "Append completed", fmt::format("APPENDUID {} {}", st->uid_validity, format_sequence_set(uids)));
}

}  // namespace tern::imap
