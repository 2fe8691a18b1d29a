"""Postfix as a real peer: a throwaway Postfix on loopback relays mail to Tern's MTA port (relayhost), the
way an upstream MTA or a backup MX would. Checks what Postfix itself reports (status=sent/bounced/deferred,
TLS) and what arrives in the mailbox."""
import smtplib
import sys
import tempfile
import time

import postfix_peer
from postfix_peer import PostfixPeer
from smtp_peer import PW, ctx, daemon, inbox
from ternlib import check, make_cert, run_tests

if not postfix_peer.available():
    # scripts/deps installs postfix and CI runs as root; anything else is a broken environment, not a skip.
    print("postfix_peer: needs root and /usr/sbin/postfix")
    sys.exit(1)


def msg(subject, to="alice@example.test"):
    return ("From: Carol <carol@remote.test>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@remote.test>\r\n\r\n"
            "Sent through Postfix.\r\n.leading dot line\r\n" % (to, subject, subject.replace(" ", "-")))


def send_via(pf, rcpts, subject):
    s = smtplib.SMTP("127.0.0.1", pf.port, timeout=20)
    s.sendmail("carol@remote.test", rcpts, msg(subject))
    s.quit()


def test_postfix_relays_to_tern_over_starttls():
    with daemon() as d, PostfixPeer(relayhost="[127.0.0.1]:%d" % d.port("smtp")) as pf:
        send_via(pf, ["alice@example.test", "team@example.test", "bob@example.test"], "via postfix")
        pf.wait_log(r"status=sent")
        check(any("TLS connection established to 127.0.0.1" in l for l in pf.logs().splitlines()),
              "Postfix used STARTTLS to Tern:\n" + pf.logs()[-2000:])
        a, b = inbox(d, "alice"), inbox(d, "bob")
        check(len(a) == 1 and len(b) == 1, "one copy per mailbox (alice %d, bob %d)" % (len(a), len(b)))
        m = a[0]
        check("by mail.example.test (Tern) with ESMTPS" in m and "from relay.remote.test" in m,
              "Tern's Received names Postfix's HELO and TLS:\n" + m[:800])
        check("by relay.remote.test (Postfix)" in m, "Postfix's own Received is kept")
        check("\n.leading dot line" in m, "dot-stuffing undone exactly once")
        check(m.startswith("Return-Path: <carol@remote.test>"), "Return-Path from Postfix's MAIL FROM")


def test_postfix_bounces_an_unknown_recipient_with_tern_reason():
    with daemon() as d, PostfixPeer(relayhost="[127.0.0.1]:%d" % d.port("smtp")) as pf:
        send_via(pf, ["nobody@example.test"], "unknown user")
        line = pf.wait_log(r"status=bounced")[0]
        check("550 5.1.1" in line, "Postfix reports Tern's 550 5.1.1 and sentence: " + line)


def test_postfix_retries_after_greylisting():
    with daemon('\n[smtp.greylist]\nenabled = true\ndelay = "2s"\n') as d, \
            PostfixPeer(relayhost="[127.0.0.1]:%d" % d.port("smtp")) as pf:
        send_via(pf, ["alice@example.test"], "greylisted once")
        line = pf.wait_log(r"status=deferred")[0]
        check("451 4.7.1" in line and "Greylisted" in line, "Postfix saw the greylisting reply: " + line)
        check(inbox(d, "alice") == [], "nothing delivered yet")
        time.sleep(2.2)
        pf.flush()  # what Postfix's queue manager does on its next retry
        pf.wait_log(r"status=sent")
        check(len(inbox(d, "alice")) == 1, "delivered on the retry, exactly once")


def test_tern_delivers_to_postfix_as_the_remote_mx():
    """Outbound: authenticated submission -> Tern's queue -> MX lookup (local DNS data) -> Postfix, which
    stores it; Postfix's log shows it received the message over TLS from Tern."""
    cert = make_cert(tempfile.mkdtemp(prefix="tern-pf-cert-"), "mx.remote.test", "mx")
    with PostfixPeer(mailbox_domains=["remote.test"], hostname="mx.remote.test", tls_cert=cert) as pf:
        extra = ('\n[dns]\nlocal_only = true\nlocal_data = ["remote.test. MX 10 mx.remote.test.", '
                 '"mx.remote.test. A 127.0.0.1"]\n[delivery]\nmx_port = %d\n[queue]\ncontrol_poll = "100ms"\n' % pf.port)
        with daemon(extra) as d:
            s = smtplib.SMTP("127.0.0.1", d.port("submission"), timeout=20)
            s.starttls(context=ctx())
            s.login("alice@example.test", PW)
            s.sendmail("alice@example.test", ["carol@remote.test", "dave@remote.test"],
                       "From: Alice <alice@example.test>\r\nTo: carol@remote.test, dave@remote.test\r\n"
                       "Subject: outbound via MX\r\n\r\nHello Postfix.\r\n.leading dot\r\n")
            s.quit()
            pf.wait_log(r"to=<carol@remote.test>.*status=sent")
            pf.wait_log(r"to=<dave@remote.test>.*status=sent")
            got = pf.mailbox("remote.test")
            check(len(got) == 2, "one copy per recipient in Postfix's store: %d" % len(got))
            m = got[0].decode()
            check("Subject: outbound via MX" in m and "\n.leading dot" in m, m)
            check("by mail.example.test (Tern)" in m, "Tern's Received is on the message")
            check("from mail.example.test (localhost [127.0.0.1])" in m, "Postfix's Received names Tern's EHLO")
            check("(using TLSv1.3" in m, "Tern used STARTTLS to Postfix (opportunistic TLS)")
            d.wait_log(r"queue\.delivered")


def test_tern_bounce_from_postfix_reaches_the_sender():
    """A 5xx from the remote MX becomes a DSN in the local sender's mailbox, naming Postfix's reply."""
    with PostfixPeer(mailbox_domains=["remote.test"], hostname="mx.remote.test",
                     extra_main="smtpd_recipient_restrictions = check_recipient_access inline:{ { nobody@remote.test = 550 5.1.1 no such user here } }, permit_mynetworks, reject\n") as pf:
        extra = ('\n[dns]\nlocal_only = true\nlocal_data = ["remote.test. MX 10 mx.remote.test.", '
                 '"mx.remote.test. A 127.0.0.1"]\n[delivery]\nmx_port = %d\n[queue]\ncontrol_poll = "100ms"\n' % pf.port)
        with daemon(extra) as d:
            s = smtplib.SMTP("127.0.0.1", d.port("submission"), timeout=20)
            s.starttls(context=ctx())
            s.login("alice@example.test", PW)
            s.sendmail("alice@example.test", ["nobody@remote.test"],
                       "From: alice@example.test\r\nTo: nobody@remote.test\r\nSubject: to nobody\r\n\r\nhi\r\n")
            s.quit()
            deadline = time.time() + 20
            while time.time() < deadline and not inbox(d, "alice"):
                time.sleep(0.1)
            box = inbox(d, "alice")
            check(len(box) == 1, "the DSN reached alice:\n%s\n%s" % (d.logs()[-3000:], pf.logs()[-2000:]))
            dsn = box[0]
            check("Undelivered Mail Returned to Sender" in dsn and "Action: failed" in dsn, dsn[:1500])
            check("Diagnostic-Code: smtp; 550 5.1.1" in dsn and "no such user here" in dsn and
                  "Remote-MTA: dns; mx.remote.test" in dsn, dsn[:3000])


run_tests([test_tern_delivers_to_postfix_as_the_remote_mx, test_tern_bounce_from_postfix_reaches_the_sender,
           test_postfix_relays_to_tern_over_starttls, test_postfix_bounces_an_unknown_recipient_with_tern_reason,
           test_postfix_retries_after_greylisting])
