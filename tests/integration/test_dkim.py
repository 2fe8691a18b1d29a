"""DKIM signing end to end: `ternctl dkim keygen` makes a key and prints its DNS record; mail submitted to
tern-maild leaves through the queue to a real Postfix MX, and dkimpy (an independent implementation)
verifies the signature Postfix received, with the record served by a dnsfunc. RSA-2048 and Ed25519."""
import re
import smtplib
import sys
import tempfile

import dkim

import postfix_peer
from postfix_peer import PostfixPeer
from smtp_peer import PW, ctx, daemon
from ternlib import check, make_cert, run_tests, ternctl

if not postfix_peer.available():
    print("test_dkim: needs root and /usr/sbin/postfix")
    sys.exit(1)

MESSAGE = ("From: Alice <alice@example.test>\r\nTo: Carol <carol@remote.test>\r\nSubject: signed  and\r\n"
           " folded subject\r\nMessage-ID: <dkim-1@example.test>\r\n\r\nLine one   with  spaces   \r\n\r\n"
           "Caf\xc3\xa9 8-bit line\r\n\r\n\r\n").encode("latin-1")


def keygen(d, *args):
    r = ternctl(d.config, "dkim", "keygen", "example.test", *args)
    check(r.returncode == 0, r.stdout + r.stderr)
    m = re.match(r'(\S+)\._domainkey\.example\.test\. IN TXT (.*)', r.stdout.strip())
    check(m, "keygen prints the TXT record: %r" % r.stdout)
    record = "".join(re.findall(r'"([^"]*)"', m.group(2)))
    return m.group(1), record


def send_and_fetch(d, pf):
    s = smtplib.SMTP("127.0.0.1", d.port("submission"), timeout=20)
    s.starttls(context=ctx())
    s.login("alice@example.test", PW)
    s.sendmail("alice@example.test", ["carol@remote.test"], MESSAGE)
    s.quit()
    pf.wait_log(r"to=<carol@remote.test>.*status=sent")
    return pf.mailbox("remote.test")[-1]


def run_case(algorithm_args, want_a):
    cert = make_cert(tempfile.mkdtemp(prefix="tern-pf-cert-"), "mx.remote.test", "mx")
    with PostfixPeer(mailbox_domains=["remote.test"], hostname="mx.remote.test", tls_cert=cert) as pf:
        extra = ('\n[dns]\nlocal_only = true\nlocal_data = ["remote.test. MX 10 mx.remote.test.", '
                 '"mx.remote.test. A 127.0.0.1"]\n[delivery]\nmx_port = %d\n' % pf.port)
        with daemon(extra) as d:
            selector, record = keygen(d, *algorithm_args)
            received = send_and_fetch(d, pf)
            # Postfix adds its Return-Path/Delivered-To/Received on top; dkimpy ignores unsigned fields.
            check(b"DKIM-Signature:" in received, received[:600])
            check(("a=%s" % want_a).encode() in received and b"d=example.test" in received and
                  ("s=%s" % selector).encode() in received, received[:900])
            check(re.search(rb"h=from:[^;]*from", received.replace(b"\n\t", b"").replace(b"\r", b"")),
                  "From is oversigned")
            name = ("%s._domainkey.example.test." % selector).encode()

            def dnsfunc(qname, timeout=5):
                return record.encode() if qname == name else None

            check(dkim.verify(received, dnsfunc=dnsfunc), "dkimpy verifies Tern's %s signature:\n%s" %
                  (want_a, received[:1500].decode("latin-1")))
            tampered = received.replace(b"Line one", b"Line 1")
            check(not dkim.verify(tampered, dnsfunc=dnsfunc), "a changed body fails verification")
            tampered = received.replace(b"Subject: signed", b"Subject: forged")
            check(not dkim.verify(tampered, dnsfunc=dnsfunc), "a changed subject fails verification")


def test_rsa_sha256_signature_verified_by_dkimpy():
    run_case([], "rsa-sha256")


def test_ed25519_signature_verified_by_dkimpy():
    run_case(["--algorithm", "ed25519", "--selector", "ed1"], "ed25519-sha256")


def test_no_key_no_signature_and_record_command():
    with daemon() as d:
        r = ternctl(d.config, "dkim", "record", "example.test")
        check(r.returncode == 1 and "no DKIM key" in r.stderr, r.stderr)
        sel, rec = keygen(d, "--selector", "s2024")
        r = ternctl(d.config, "dkim", "record", "example.test")
        check(r.returncode == 0 and r.stdout.startswith("s2024._domainkey.example.test. IN TXT"), r.stdout)
        check("".join(re.findall(r'"([^"]*)"', r.stdout)) == rec, "record repeats the published key")
        r = ternctl(d.config, "dkim", "keygen", "example.test", "--selector", "s2024")
        check(r.returncode == 1 and "exists" in r.stderr, "an existing key is never overwritten: " + r.stderr)


run_tests([test_rsa_sha256_signature_verified_by_dkimpy, test_ed25519_signature_verified_by_dkimpy,
           test_no_key_no_signature_and_record_command])
