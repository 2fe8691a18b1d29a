"""Per-domain disclaimers end to end: `ternctl domain disclaimer` sets a text and an HTML disclaimer for
example.test; mail submitted to tern-maild leaves through the queue to a real Postfix MX, where Python's
email package checks that the text and HTML parts end with the disclaimer, attachments are byte-identical,
the local copy of the same message has none, and dkimpy verifies the DKIM signature made after the
disclaimer. Signed mail and mail of a domain without a disclaimer arrive unchanged."""
import email
import email.policy
import os
import re
import smtplib
import sys
import tempfile
from email.message import EmailMessage

import dkim

import postfix_peer
from postfix_peer import PostfixPeer
from smtp_peer import PW, ctx, daemon, inbox
from ternlib import check, make_cert, run_tests, ternctl

if not postfix_peer.available():
    print("test_disclaimer: needs root and /usr/sbin/postfix")
    sys.exit(1)

TEXT = "Vertraulich \u2013 nur f\u00fcr den Empf\u00e4nger.\nExample Ltd, registered in Testland.\n"
HTML = '<div class="disc"><p>Vertraulich &ndash; nur f\u00fcr den <b>Empf\u00e4nger</b>.</p></div>\n'
TEXT_LINES = ["Vertraulich \u2013 nur f\u00fcr den Empf\u00e4nger.", "Example Ltd, registered in Testland."]
PDF = bytes(range(256)) * 40 + b"%%EOF"
NOTES = "attached notes, not to be touched\n"


def keygen(d):
    r = ternctl(d.config, "dkim", "keygen", "example.test")
    check(r.returncode == 0, r.stdout + r.stderr)
    m = re.match(r'(\S+)\._domainkey\.example\.test\. IN TXT (.*)', r.stdout.strip())
    check(m, "keygen prints the TXT record: %r" % r.stdout)
    name = ("%s._domainkey.example.test." % m.group(1)).encode()
    record = "".join(re.findall(r'"([^"]*)"', m.group(2))).encode()
    return lambda qname, timeout=5: record if qname == name else None


def submit(d, user, msg, to):
    s = smtplib.SMTP("127.0.0.1", d.port("submission"), timeout=20)
    s.starttls(context=ctx())
    s.login(user, PW)
    s.sendmail(user, to, msg if isinstance(msg, bytes) else msg.as_bytes(policy=email.policy.SMTP))
    s.quit()


def fetch(pf, message_id, count):
    pf.wait_log(r"to=<carol@remote.test>.*status=sent", count=count)
    for raw in pf.mailbox("remote.test"):
        if message_id.encode() in raw:
            return raw
    raise AssertionError("%s not in the remote mailbox" % message_id)


def parsed(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def text_ends_with_disclaimer(part):
    lines = [l.rstrip() for l in part.get_content().rstrip().splitlines()]
    return lines[-len(TEXT_LINES):] == TEXT_LINES and lines[-len(TEXT_LINES) - 1] == ""


def rich_message(sender, mid):
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "Carol <carol@remote.test>, bob@example.test"
    m["Subject"] = "Quarterly figures"
    m["Message-ID"] = mid
    m.set_content("Hello Carol,\n\nthe figures are attached.\n\nAlice\n")
    m.add_alternative("<html><body><p>Hello Carol,</p><p>the figures are attached.</p></body></html>\n",
                      subtype="html")
    m.add_attachment(PDF, maintype="application", subtype="pdf", filename="figures.pdf")
    m.add_attachment(NOTES, subtype="plain", filename="notes.txt")
    return m


def run(test):
    cert = make_cert(tempfile.mkdtemp(prefix="tern-pf-cert-"), "mx.remote.test", "mx")
    with PostfixPeer(mailbox_domains=["remote.test"], hostname="mx.remote.test", tls_cert=cert) as pf:
        extra = ('\n[dns]\nlocal_only = true\nlocal_data = ["remote.test. MX 10 mx.remote.test.", '
                 '"mx.remote.test. A 127.0.0.1"]\n[delivery]\nmx_port = %d\n' % pf.port)
        with daemon(extra) as d:
            r = ternctl(d.config, "user", "add", "carol@other.test", stdin=PW + "\n")
            check(r.returncode == 0, r.stdout + r.stderr)
            test(d, pf)


def set_disclaimer(d):
    tmp = tempfile.mkdtemp(prefix="tern-disc-")
    with open(os.path.join(tmp, "d.txt"), "w", encoding="utf-8") as f:
        f.write(TEXT)
    with open(os.path.join(tmp, "d.html"), "w", encoding="utf-8") as f:
        f.write(HTML)
    r = ternctl(d.config, "domain", "disclaimer", "example.test", "--text", os.path.join(tmp, "d.txt"),
                "--html", os.path.join(tmp, "d.html"))
    check(r.returncode == 0 and "disclaimer" in r.stdout, r.stdout + r.stderr)


def test_text_html_and_attachments_with_dkim():
    def body(d, pf):
        dnsfunc = keygen(d)
        set_disclaimer(d)
        sent = rich_message("Alice <alice@example.test>", "<disc-1@example.test>")
        submit(d, "alice@example.test", sent, ["carol@remote.test", "bob@example.test"])
        raw = fetch(pf, "<disc-1@example.test>", 1)
        check(dkim.verify(raw, dnsfunc=dnsfunc), "dkimpy verifies the signature over the stamped message:\n%s" %
              raw[:3000].decode("latin-1"))
        check(not dkim.verify(raw.replace(b"Testland", b"Fooland"), dnsfunc=dnsfunc) or b"Testland" not in raw,
              "the disclaimer is covered by the signature")
        m = parsed(raw)
        check(m["X-Tern-Disclaimer"] == "example.test", "marker header: %r" % m["X-Tern-Disclaimer"])
        plain = m.get_body(preferencelist=("plain",))
        html = m.get_body(preferencelist=("html",))
        check(text_ends_with_disclaimer(plain), "text part ends with the disclaimer:\n%r" % plain.get_content())
        check(plain.get_content().startswith("Hello Carol,\n\nthe figures are attached.\n\nAlice\n"),
              plain.get_content())
        check(plain.get_content_charset() == "utf-8", plain["Content-Type"])
        h = html.get_content()
        check(re.search(r"attached\.</p>\s*<div class=\"disc\"><p>Vertraulich &ndash; nur f\u00fcr den "
                        r"<b>Empf\u00e4nger</b>\.</p></div>\s*</body></html>", h), "HTML before </body>:\n" + h)
        atts = {a.get_filename(): a for a in m.iter_attachments()}
        check(atts["figures.pdf"].get_content() == PDF, "the PDF is byte-identical")
        check(atts["notes.txt"].get_content() == NOTES, "a text attachment is not stamped: %r" %
              atts["notes.txt"].get_content())
        check(raw.count(b"Testland") == 1, "the text disclaimer appears once on the wire (the HTML is QP/base64?)")
        # The local copy of the same submission has no disclaimer (outbound mail only).
        local = [x for x in inbox(d, "bob") if "disc-1@example.test" in x]
        check(len(local) == 1 and "Testland" not in local[0] and "X-Tern-Disclaimer" not in local[0],
              "the local copy is unchanged")
    run(body)


def test_latin1_single_part_signed_and_other_domain():
    def body(d, pf):
        dnsfunc = keygen(d)
        set_disclaimer(d)
        # 8-bit ISO-8859-1 text: the en dash is not in Latin-1, so the part becomes UTF-8.
        latin = ("From: alice@example.test\r\nTo: carol@remote.test\r\nSubject: latin\r\nMessage-ID: "
                 "<disc-2@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
                 "Content-Transfer-Encoding: 8bit\r\n\r\nCaf\u00e9 cr\u00e8me br\u00fbl\u00e9e\r\n").encode("latin-1")
        submit(d, "alice@example.test", latin, ["carol@remote.test"])
        raw = fetch(pf, "<disc-2@example.test>", 1)
        check(dkim.verify(raw, dnsfunc=dnsfunc), "dkimpy verifies the converted message")
        m = parsed(raw)
        check(m.get_content_charset() == "utf-8", m["Content-Type"])
        check(m.get_content().startswith("Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e\n"), repr(m.get_content()))
        check(text_ends_with_disclaimer(m), repr(m.get_content()))
        # S/MIME-signed mail leaves untouched: a changed body would break the signature.
        signed = ("From: alice@example.test\r\nTo: carol@remote.test\r\nSubject: signed\r\nMessage-ID: "
                  "<disc-3@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/signed; "
                  "protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"sig\"\r\n\r\n"
                  "--sig\r\nContent-Type: text/plain\r\n\r\nsigned words\r\n--sig\r\nContent-Type: "
                  "application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                  "MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwEAAA==\r\n--sig--\r\n")
        submit(d, "alice@example.test", signed.encode(), ["carol@remote.test"])
        raw = fetch(pf, "<disc-3@example.test>", 2)
        check(b"Testland" not in raw and b"X-Tern-Disclaimer" not in raw, "signed mail is unchanged")
        check(raw.replace(b"\r\n", b"\n").endswith(signed.split("\r\n\r\n", 1)[1].replace("\r\n", "\n").encode()),
              "the signed body arrives byte for byte")
        check(dkim.verify(raw, dnsfunc=dnsfunc), "still DKIM-signed")
        line = d.wait_log(r"disclaimer\.skipped")
        check("signed_or_encrypted" in line and "example.test" in line, "the skip is logged with its reason: " + line)
        # A domain without a disclaimer: the message arrives as sent.
        other = rich_message("Carol <carol@other.test>", "<disc-4@other.test>")
        submit(d, "carol@other.test", other, ["carol@remote.test"])
        raw = fetch(pf, "<disc-4@other.test>", 3)
        m = parsed(raw)
        check(m["X-Tern-Disclaimer"] is None and b"Testland" not in raw, "other.test has no disclaimer")
        sent_body = other.as_bytes(policy=email.policy.SMTP).split(b"\r\n\r\n", 1)[1].replace(b"\r\n", b"\n")
        check(raw.replace(b"\r\n", b"\n").endswith(sent_body), "the body is byte-identical")
        # --off: example.test mail leaves unchanged again.
        r = ternctl(d.config, "domain", "disclaimer", "example.test", "--off")
        check(r.returncode == 0, r.stdout + r.stderr)
        again = rich_message("Alice <alice@example.test>", "<disc-5@example.test>")
        submit(d, "alice@example.test", again, ["carol@remote.test"])
        raw = fetch(pf, "<disc-5@example.test>", 4)
        check(b"Testland" not in raw and b"X-Tern-Disclaimer" not in raw, "disclaimer switched off")
    run(body)


run_tests([test_text_html_and_attachments_with_dkim, test_latin1_single_part_signed_and_other_domain])
