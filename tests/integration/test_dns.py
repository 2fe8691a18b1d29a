"""`ternctl dns records DOMAIN`: the zone-file lines (and --json) an operator publishes for a served domain.

The output is parsed as a real zone file by dnspython; DKIM records are compared with `ternctl dkim record`
and with the public key OpenSSL derives from each key file; the MTA-STS policy is checked against RFC 8461;
SRV records follow the configured [[listen]] ports. No daemon is needed: ternctl reads the config."""
import base64
import json
import os
import re
import subprocess
import tempfile

import dns.rdatatype
import dns.zone

from ternlib import check, make_cert, run_tests, ternctl

LISTEN = """
[[listen]]
service = "smtp"
address = "0.0.0.0:25"
[[listen]]
service = "submissions"
address = "0.0.0.0:465"
[[listen]]
service = "submission"
address = "0.0.0.0:587"
[[listen]]
service = "imaps"
address = "0.0.0.0:993"
[[listen]]
service = "imaps"
address = "[::]:993"
[[listen]]
service = "imap"
address = "0.0.0.0:1143"
"""


def setup(hostname="mail.example.test", tls=True, listen=LISTEN, keys=True):
    tmp = tempfile.mkdtemp(prefix="tern-dns-")
    config = os.path.join(tmp, "tern.toml")
    body = '[server]\nhostname = "%s"\ndata_dir = "data"\n' % hostname
    if tls:
        make_cert(tmp, hostname, "cert")
        body += '[tls]\ncert = "cert.pem"\nkey = "cert.key"\n'
    with open(config, "w") as f:
        f.write(body + listen)
    r = ternctl(config, "domain", "add", "example.test")
    check(r.returncode == 0, r.stderr)
    if keys:
        for args in ([], ["--algorithm", "ed25519", "--selector", "ed1"]):
            r = ternctl(config, "dkim", "keygen", "example.test", *args)
            check(r.returncode == 0, r.stderr)
    return tmp, config


def records(config, *extra, domain="example.test"):
    r = ternctl(config, "dns", "records", domain, *extra)
    check(r.returncode == 0, "dns records failed: " + r.stderr)
    # Every line is a comment or a record with an absolute name: it must load as a zone.
    # Pasted into a zone that has its own $TTL, as operators do.
    zone = dns.zone.from_text("$TTL 3600\n" + r.stdout, origin=domain + ".", relativize=False, check_origin=False)
    out = {}
    for name, node in zone.nodes.items():
        for rdataset in node.rdatasets:
            out.setdefault((name.to_text(), dns.rdatatype.to_text(rdataset.rdtype)), []).extend(
                rd.to_text() if rdataset.rdtype != dns.rdatatype.TXT else b"".join(rd.strings).decode()
                for rd in rdataset)
    return out, r


def public_key_b64(key_file):
    der = subprocess.run(["openssl", "pkey", "-in", key_file, "-pubout", "-outform", "DER"], capture_output=True,
                         check=True).stdout
    if len(der) == 44:  # Ed25519 SubjectPublicKeyInfo: RFC 8463 §4.2 publishes the raw 32-octet key
        der = der[-32:]
    return base64.b64encode(der).decode()


def test_records_for_a_served_domain():
    tmp, config = setup()
    rr, _ = records(config)
    check(rr[("example.test.", "MX")] == ["10 mail.example.test."], rr)
    check(rr[("example.test.", "TXT")] == ["v=spf1 mx -all"], "one SPF record at the domain: %r" % rr)
    check(rr[("mail.example.test.", "TXT")] == ["v=spf1 a -all"], "SPF for the HELO name")
    check(rr[("_dmarc.example.test.", "TXT")] == ["v=DMARC1; p=reject; pct=100"], rr)
    check(rr[("_smtp._tls.example.test.", "TXT")] == ["v=TLSRPTv1; rua=mailto:postmaster@example.test"], rr)
    sts = rr[("_mta-sts.example.test.", "TXT")]
    check(len(sts) == 1 and re.fullmatch(r"v=STSv1; id=[A-Za-z0-9]{1,32}", sts[0]), "RFC 8461 §3.1 record: %r" % sts)
    # RFC 6186 / 8314: one SRV per configured client service, implicit TLS preferred; no pop3 listener, no record.
    check(rr[("_submissions._tcp.example.test.", "SRV")] == ["0 1 465 mail.example.test."], rr)
    check(rr[("_submission._tcp.example.test.", "SRV")] == ["10 1 587 mail.example.test."], rr)
    check(rr[("_imaps._tcp.example.test.", "SRV")] == ["0 1 993 mail.example.test."], "v4+v6 listeners: one SRV")
    check(rr[("_imap._tcp.example.test.", "SRV")] == ["10 1 1143 mail.example.test."], rr)
    check(not any(n.startswith("_pop3") for n, _ in rr), "no POP3 SRV without a POP3 listener")

    # DKIM: every installed key, each the public half of its key file, the newest equal to `dkim record`.
    key_dir = os.path.join(tmp, "data", "dkim")
    for selector in ("tern", "ed1"):
        txt = rr[("%s._domainkey.example.test." % selector, "TXT")]
        check(len(txt) == 1, txt)
        p = re.search(r"(?:^|;)\s*p=([^;\s]+)", txt[0]).group(1)
        check(p == public_key_b64(os.path.join(key_dir, "example.test.%s.key" % selector)),
              "the %s record publishes the public half of its key file" % selector)
    r = ternctl(config, "dkim", "record", "example.test")
    check(r.returncode == 0, r.stderr)
    m = re.match(r"(\S+)\._domainkey\.example\.test\. IN TXT (.*)", r.stdout.strip())
    check(m, r.stdout)
    check(rr[("%s._domainkey.example.test." % m.group(1), "TXT")] == ["".join(re.findall(r'"([^"]*)"', m.group(2)))],
          "dns records and dkim record print the same DKIM record")
    check(len([k for k in rr if k[0].endswith("._domainkey.example.test.")]) == 2, rr)


def test_json_matches_zone_output_and_policy():
    _, config = setup()
    rr, _ = records(config)
    r = ternctl(config, "--json", "dns", "records", "example.test")
    check(r.returncode == 0, r.stderr)
    doc = json.loads(r.stdout)
    check(doc["domain"] == "example.test" and doc["hostname"] == "mail.example.test", doc)
    from_json = {}
    for rec in doc["records"]:
        from_json.setdefault((rec["name"], rec["type"]), []).append(rec["value"])
    check({k: sorted(v) for k, v in from_json.items()} == {k: sorted(v) for k, v in rr.items()},
          "--json lists the same records: %r vs %r" % (from_json, rr))
    check({rec["purpose"] for rec in doc["records"]} >=
          {"mx", "spf", "spf-helo", "dkim", "dmarc", "mta-sts", "tls-rpt", "srv"}, doc)
    policy = doc["mta_sts_policy"]
    check(policy["url"] == "https://mta-sts.example.test/.well-known/mta-sts.txt", policy)
    # RFC 8461 §3.2: CRLF-separated "key: value" lines; enforce needs mx lines covering our MX host.
    lines = policy["content"].split("\r\n")
    check(lines[-1] == "" and all(": " in l for l in lines[:-1]), repr(policy["content"]))
    fields = [tuple(l.split(": ", 1)) for l in lines[:-1]]
    check(fields[0] == ("version", "STSv1"), fields)
    check(("mode", "enforce") in fields and ("mx", "mail.example.test") in fields, fields)
    check(0 < int(dict(fields)["max_age"]) <= 31557600, fields)


def test_options_and_changes():
    _, config = setup()
    rr, _ = records(config, "--report-address", "reports@example.test")
    check(rr[("_dmarc.example.test.", "TXT")] == ["v=DMARC1; p=reject; pct=100; rua=mailto:reports@example.test"], rr)
    check(rr[("_smtp._tls.example.test.", "TXT")] == ["v=TLSRPTv1; rua=mailto:reports@example.test"], rr)
    id_enforce = rr[("_mta-sts.example.test.", "TXT")]
    rr, _ = records(config, "--mta-sts-mode", "testing")
    check(rr[("_mta-sts.example.test.", "TXT")] != id_enforce, "a changed policy gets a new id (RFC 8461 §3.1)")
    rr2, _ = records(config, "--mta-sts-mode", "testing")
    check(rr2[("_mta-sts.example.test.", "TXT")] == rr[("_mta-sts.example.test.", "TXT")],
          "the same policy keeps its id")
    r = ternctl(config, "dns", "records", "example.test", "--mta-sts-mode", "strict")
    check(r.returncode == 2 and "enforce, testing or none" in r.stderr, r.stderr)
    r = ternctl(config, "dns", "records", "example.test", "--report-address", "not an address")
    check(r.returncode == 2, r.stderr)


def test_unknown_domain_fails_clearly():
    _, config = setup(keys=False)
    r = ternctl(config, "dns", "records", "other.test")
    check(r.returncode == 1 and "other.test is not a domain of this server's directory" in r.stderr, r.stderr)
    check(r.stdout == "", "nothing to paste for a domain we do not serve: %r" % r.stdout)


def test_without_keys_or_tls():
    _, config = setup(hostname="mx.example.test", tls=False, keys=False, listen="")
    rr, r = records(config)
    check(not any(k[0].endswith("._domainkey.example.test.") for k in rr), "no key, no DKIM record: %r" % rr)
    check("no DKIM key for example.test" in r.stderr and "ternctl dkim keygen example.test" in r.stderr, r.stderr)
    check(rr[("example.test.", "MX")] == ["10 mx.example.test."], rr)
    check(not any(t == "SRV" for _, t in rr), "no listeners, no SRV records")
    doc = json.loads(ternctl(config, "--json", "dns", "records", "example.test").stdout)
    check("mode: none\r\n" in doc["mta_sts_policy"]["content"], "no TLS certificate: MTA-STS mode none")
    check(any("no DKIM key" in n for n in doc["notes"]), doc["notes"])


def test_srs_domain():
    """[srs] domain is not a directory domain but receives bounces and sends forwarded mail: MX, SPF, DMARC."""
    _, config = setup(keys=False)
    with open(config, "a") as f:
        f.write('\n[srs]\ndomain = "bounces.example.test"\n')
    rr, r = records(config, domain="bounces.example.test")
    check(rr[("bounces.example.test.", "MX")] == ["10 mail.example.test."], rr)
    check(rr[("bounces.example.test.", "TXT")] == ["v=spf1 mx -all"], rr)
    check(rr[("_dmarc.bounces.example.test.", "TXT")] == ["v=DMARC1; p=reject; pct=100"], rr)
    check(not any(t == "SRV" or n.startswith("_mta-sts") or n.startswith("_smtp._tls") for n, t in rr),
          "no client or MTA-STS records for the SRS domain: %r" % rr)
    check("is the [srs] domain" in r.stderr, r.stderr)
    doc = json.loads(ternctl(config, "--json", "dns", "records", "bounces.example.test").stdout)
    check(doc["mta_sts_policy"] is None, doc)
    _, r = records(config)
    check("ternctl dns records bounces.example.test" in r.stderr, "the mailbox domain points at the SRS domain")
    with open(config, "a") as f:
        f.write('enabled = false\n')
    r = ternctl(config, "dns", "records", "bounces.example.test")
    check(r.returncode == 1 and "not a domain of this server" in r.stderr, r.stderr)


run_tests([test_records_for_a_served_domain, test_json_matches_zone_output_and_policy, test_options_and_changes,
           test_unknown_domain_fails_clearly, test_without_keys_or_tls, test_srs_domain])
