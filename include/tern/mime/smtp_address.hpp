// RFC 5321 envelope addresses: Mailbox and Path (§4.1.2) with quoted local parts and address literals
// (§4.1.3: "[192.0.2.1]", "[IPv6:2001:db8::1]", general literals), RFC 6531 UTF-8 addresses, IDNA domain
// conversion (IDNA2008 with UTS #46 mapping, libidn2), subaddresses ("user+tag") and the case rules of
// RFC 5321 §2.4 (the domain is case-insensitive, the local part is kept exactly as written).
// Shared by SMTP (MAIL/RCPT), the directory, the queue and DSNs so that none of them parses on its own.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/result.hpp"

namespace tern::mime {

enum class DomainKind {
  name,          // a domain name: LDH labels, or U-labels with RFC 6531
  ipv4,          // "[192.0.2.1]"
  ipv6,          // "[IPv6:2001:db8::1]"
  general,       // "[tag:content]" (RFC 5321 §4.1.3 General-address-literal)
};

struct SmtpMailbox {
  std::string local_part;  // unquoted (quoted-pairs resolved), case preserved
  std::string domain;      // as written; address literals with their brackets
  DomainKind kind = DomainKind::name;

  // "local@domain" with the local part as a Dot-string, or quoted when it is not one (RFC 5321 §4.1.2).
  std::string address() const;
  // The literal's address without brackets and tag ("192.0.2.1", "2001:db8::1"); empty for names.
  std::string literal_address() const;
  // RFC 6531 §3.2: non-ASCII anywhere, so the transaction needs SMTPUTF8.
  bool needs_smtputf8() const;
};

// A reverse- or forward-path (RFC 5321 §4.1.2): "<>" (null), "<Postmaster>", or "<[@route,...:]mailbox>"
// (a source route is accepted and dropped, RFC 5321 §4.1.1.3 / appendix C).
struct SmtpPath {
  bool null = false;
  bool postmaster = false;  // "<Postmaster>" without a domain (RCPT only)
  SmtpMailbox mailbox;
  std::string format() const;  // "<...>"
};

enum class AddressError {
  none,
  syntax,            // not RFC 5321 syntax
  too_long,          // local part > 64, domain > 255 or path > 256 octets (RFC 5321 §4.5.3.1)
  utf8_not_allowed,  // non-ASCII without SMTPUTF8 (RFC 6531 §3.2)
  bad_literal,       // an address literal that is no valid IPv4/IPv6 address
  bad_idna,          // a domain IDNA cannot convert
};

std::string_view to_string(AddressError e) noexcept;

// What an SMTP server answers for the error (reply code, RFC 3463 enhanced code, sentence).
struct AddressReply {
  int code;
  std::string_view enhanced;
  std::string_view text;
};
AddressReply reply_for(AddressError e) noexcept;

struct PathOptions {
  bool allow_null = false;        // "<>" (reverse-path)
  bool allow_postmaster = false;  // "<Postmaster>" (forward-path)
  bool allow_utf8 = false;        // SMTPUTF8 was given (RFC 6531)
  bool allow_route = true;        // "<@a,@b:x@y>"
};

template <class T>
struct AddressParse {
  T value{};
  AddressError error = AddressError::none;
  std::size_t consumed = 0;  // octets used (paths: through the closing '>')
  explicit operator bool() const { return error == AddressError::none; }
};

// "local@domain" (the whole input).
AddressParse<SmtpMailbox> parse_smtp_mailbox(std::string_view in, bool allow_utf8 = false);
// A path at the start of `in` (MAIL FROM:<...> SP params: `consumed` tells where the parameters begin).
AddressParse<SmtpPath> parse_smtp_path(std::string_view in, const PathOptions& options = {});

// IDNA2008 (libidn2, UTS #46 non-transitional mapping): "Bücher.Example" -> "xn--bcher-kva.example".
// ASCII names are lower-cased and checked as LDH labels only; address literals are returned unchanged.
Result<std::string> domain_to_ascii(std::string_view domain);
// "xn--bcher-kva.example" -> "bücher.example" (lower case).
Result<std::string> domain_to_unicode(std::string_view domain);
// The form to compare and index domains by: A-labels, lower case (the input lower-cased when IDNA fails).
std::string canonical_domain(std::string_view domain);
// Same mailbox: local parts equal octet for octet (RFC 5321 §2.4), domains equal after canonical_domain.
bool same_mailbox(const SmtpMailbox& a, const SmtpMailbox& b);
// The mailbox with its domain in A-labels, so it can be used without SMTPUTF8 when the local part is ASCII.
Result<SmtpMailbox> to_ascii_domain(const SmtpMailbox& m);

// An address as SmtpMailbox::address() writes it ("local@domain", the local part quoted when it is not a
// Dot-string) split into its local part (as written, quotes kept) and domain, at the '@' that ends the
// local part: a quoted local part may hold '@', so may a general address literal. No validation beyond
// that; nullopt when there is no such '@' or a side is empty. For stored envelope addresses (queue records,
// SRS, store and directory keys) whose syntax was checked when they were received.
struct AddressParts {
  std::string_view local;
  std::string_view domain;
};
std::optional<AddressParts> split_address(std::string_view address);
// The domain of such an address in canonical form (A-labels, lower case; see canonical_domain), or ""
// when it has none: the key to compare with served domains and to route by.
std::string address_domain(std::string_view address);

// "user+tag" -> {"user", "tag"}, split at the first of `separators` (e.g. "+" or "+-"); a local part
// without a separator, or starting with one, has no detail.
struct Subaddress {
  std::string base;
  std::string detail;
  bool has_detail = false;
};
Subaddress split_subaddress(std::string_view local_part, std::string_view separators = "+");

}  // namespace tern::mime
