// DANE for SMTP (RFC 7672): matching a server's certificate chain against its TLSA records (RFC 6698).
// Only DANE-EE(3) and DANE-TA(2) are usable for SMTP (RFC 7672 3.1.3: PKIX-TA/PKIX-EE are unusable).
//   DANE-EE: the leaf's certificate or public key matches; no name or expiry check (RFC 7672 3.1.1).
//   DANE-TA: a certificate of the presented chain matches, the leaf chains to it by signature and
//            carries one of the reference names (the MX host name, RFC 7672 3.2.2).
// Used only when the TLSA RRset is DNSSEC-secure (RFC 7672 2.2); otherwise DANE does not apply.
#pragma once

#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "tern/dns/resolver.hpp"

namespace tern::queue {

enum class DaneVerdict {
  match,      // authenticated: go on with the transaction
  no_match,   // usable records, none matched: the MX must not be used (RFC 7672 2.2)
  unusable,   // no usable record (only PKIX usages, unknown selectors/matching types): plain opportunistic TLS
};

// True if `record` (selector, matching type) matches certificate `cert` (RFC 6698 2.1.2-2.1.3).
bool tlsa_matches(const dns::TlsaRecord& record, X509* cert);

// `chain` is the peer's chain, leaf first (SSL_get_peer_cert_chain order on the client).
DaneVerdict dane_verify(const std::vector<dns::TlsaRecord>& records, const std::vector<X509*>& chain,
                        const std::string& host_name);

}  // namespace tern::queue
