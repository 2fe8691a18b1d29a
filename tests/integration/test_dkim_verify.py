"""DKIM verification end to end: dkimpy (an independent implementation) signs messages with RSA and
Ed25519 in every canonicalisation; `ternctl dkim verify` fetches the key through Tern's resolver
(libunbound answering from [dns] local_data, nothing leaves the host) and prints the
Authentication-Results field. Also a Tern-generated key (`ternctl dkim keygen`) and the vectors of
tests/mailauth/data signed by Exim and by RFC 8463's authors."""
import base64
import os
import re
import subprocess
import sys
import tempfile

import dkim

from ternlib import binary, check, run_tests

DATA = os.path.join(os.path.dirname(__file__), "..", "mailauth", "data")

MESSAGE = (b"From: Alice <alice@example.test>\r\nTo: Carol <carol@remote.test>\r\nSubject: verify  me\r\n"
           b" please\r\nMessage-ID: <v-1@example.test>\r\n\r\nLine one   with  spaces   \r\n\r\n")


def data(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def txt(record):
    """A local_data TXT line: the record in strings of at most 255 octets (RFC 1035 §3.3.14)."""
    parts = [record[i:i + 255] for i in range(0, len(record), 255)]
    return " ".join('\\"%s\\"' % p for p in parts)


def verify(message, zone, *args):
    """Runs `ternctl dkim verify` with [dns] local_data = zone ({name: record}); (exit code, output)."""
    d = tempfile.mkdtemp(prefix="tern-dkimv-")
    config = os.path.join(d, "tern.toml")
    with open(config, "w") as f:
        lines = ", ".join('"%s. TXT %s"' % (name, txt(rec)) for name, rec in zone.items())
        f.write("[dns]\nlocal_only = true\nlocal_data = [%s]\n" % lines)
    r = subprocess.run([binary("ternctl"), "--config", config, "dkim", "verify", "--authserv-id", "mx.test", *args],
                       input=message, capture_output=True, timeout=60)
    return r.returncode, r.stdout.decode("latin-1") + r.stderr.decode("latin-1")


def results(out):
    return re.findall(r"dkim=(\w+)", out)


def test_dkimpy_signatures_verify_through_the_resolver():
    rsa_record = data("test.txt").decode().strip()
    ed_record = "v=DKIM1; " + data("ed25519test.dns").decode().strip()
    for key, algorithm, record in ((data("test.private"), b"rsa-sha256", rsa_record),
                                   (data("ed25519test.key").strip(), b"ed25519-sha256", ed_record)):
        zone = {"test._domainkey.example.test": record}
        for hc in (b"simple", b"relaxed"):
            for bc in (b"simple", b"relaxed"):
                sig = dkim.sign(MESSAGE, b"test", b"example.test", key, canonicalize=(hc, bc),
                                signature_algorithm=algorithm)
                what = "%s %s/%s" % (algorithm.decode(), hc.decode(), bc.decode())
                code, out = verify(sig + MESSAGE, zone)
                check(code == 0 and results(out) == ["pass"], "%s: %s" % (what, out))
                check(out.startswith("Authentication-Results: mx.test;\r\n\tdkim=pass") and
                      "header.d=example.test" in out and "header.s=test" in out and
                      ("header.a=%s" % algorithm.decode()) in out, out)
                code, out = verify(sig + MESSAGE.replace(b"Line one", b"Line 1"), zone)
                check(code == 1 and results(out) == ["fail"] and "body hash did not verify" in out,
                      "%s tampered: %s" % (what, out))
        # No record published: permerror, not pass.
        sig = dkim.sign(MESSAGE, b"gone", b"example.test", key, signature_algorithm=algorithm)
        code, out = verify(sig + MESSAGE, zone)
        check(code == 1 and results(out) == ["permerror"] and "no key" in out, out)


def test_tern_key_signed_by_dkimpy_verifies():
    # A key made by `ternctl dkim keygen`, published as it prints it, used by dkimpy to sign.
    d = tempfile.mkdtemp(prefix="tern-dkimk-")
    r = subprocess.run([binary("ternctl"), "dkim", "keygen", "example.test", "--algorithm", "ed25519",
                        "--selector", "k1", "--dir", d], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, r.stdout + r.stderr)
    record = "".join(re.findall(r'"([^"]*)"', r.stdout))
    pem = open(os.path.join(d, "example.test.k1.key"), "rb").read()
    # dkimpy takes an Ed25519 key as its base64 seed: the last 32 octets of the PKCS#8 DER.
    der = base64.b64decode(b"".join(l for l in pem.splitlines() if not l.startswith(b"-----")))
    seed = base64.b64encode(der[-32:])
    sig = dkim.sign(MESSAGE, b"k1", b"example.test", seed, signature_algorithm=b"ed25519-sha256",
                    canonicalize=(b"relaxed", b"relaxed"))
    code, out = verify(sig + MESSAGE, {"k1._domainkey.example.test": record})
    check(code == 0 and results(out) == ["pass"], out)


def test_third_party_vectors():
    # Exim's Ed25519 signature (dkimpy's ed25519test2.msg) and both signatures of RFC 8463 Appendix A.
    code, out = verify(data("ed25519test2.msg"), {"sed._domainkey.test.ex": data("eximtest.dns").decode().strip()})
    check(code == 0 and results(out) == ["pass"], out)
    zone = {"brisbane._domainkey.football.example.com": "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
            "test._domainkey.football.example.com": data("test.txt").decode().strip()}
    code, out = verify(data("rfc6376.signed.msg"), zone)
    check(code == 0 and results(out) == ["pass", "pass"], out)
    # rsa-sha1 is not valid (RFC 8301 §3.1), whoever signs it.
    sig = dkim.sign(MESSAGE, b"test", b"example.test", data("test.private"), signature_algorithm=b"rsa-sha1")
    code, out = verify(sig + MESSAGE, {"test._domainkey.example.test": data("test.txt").decode().strip()})
    check(code == 1 and results(out) == ["fail"] and "RFC 8301" in out, out)


if __name__ == "__main__":
    run_tests([test_dkimpy_signatures_verify_through_the_resolver, test_tern_key_signed_by_dkimpy_verifies,
               test_third_party_vectors])
