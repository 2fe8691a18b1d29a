"""What the IMAP integration tests share: a tern-maild with IMAP, IMAPS and SMTP listeners and two
accounts, and imaplib helpers (TLS context for the self-signed test certificate, login, response parsing)."""
import imaplib
import re
import smtplib
import ssl

from ternlib import Daemon, check, ternctl

LISTEN = "".join('\n[[listen]]\nservice = "%s"\naddress = "127.0.0.1:0"\n' % s for s in ("imap", "imaps", "smtp"))
PW = "correct horse battery"


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def daemon(extra="", program="tern-maild"):
    d = Daemon(LISTEN + extra, program=program)
    for args, stdin in ((("domain", "add", "example.test"), None),
                        (("user", "add", "alice@example.test"), PW + "\n"),
                        (("user", "add", "bob@example.test"), PW + "\n")):
        r = ternctl(d.config, *args, stdin=stdin)
        check(r.returncode == 0, "ternctl %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
    return d.start()


def login(d, user="alice@example.test", tls="imaps"):
    """An authenticated imaplib client over IMAPS (default) or IMAP+STARTTLS."""
    if tls == "imaps":
        c = imaplib.IMAP4_SSL("127.0.0.1", d.port("imaps"), ssl_context=ctx(), timeout=20)
    else:
        c = imaplib.IMAP4("127.0.0.1", d.port("imap"), timeout=20)
        c.starttls(ssl_context=ctx())
    typ, data = c.login(user, PW)
    check(typ == "OK", (typ, data))
    return c


def ok(result, what=""):
    typ, data = result
    check(typ == "OK", "%s: %s %r" % (what, typ, data))
    return data


def message(subject, body="Hello there.\r\n", sender="carol@remote.test", to="alice@example.test", extra=""):
    return ("From: Carol <%s>\r\nTo: %s\r\nSubject: %s\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
            "Message-ID: <%s@remote.test>\r\n%s\r\n%s" % (sender, to, subject, re.sub(r"\W", "", subject) or "x",
                                                           extra, body)).encode()


def smtp_deliver(d, raw, rcpt="alice@example.test", sender="carol@remote.test"):
    s = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=20)
    refused = s.sendmail(sender, [rcpt], raw)
    check(refused == {}, refused)
    s.quit()


def fetch_uids(c, criteria="ALL"):
    data = ok(c.uid("SEARCH", None, criteria), "UID SEARCH " + criteria)
    return [int(x) for x in data[0].split()]
