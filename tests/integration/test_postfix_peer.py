"""Postfix as a real peer: a throwaway Postfix on loopback relays mail to Tern's MTA port (relayhost), the
way an upstream MTA or a backup MX would. Checks what Postfix itself reports (status=sent/bounced/deferred,
TLS) and what arrives in the mailbox."""
import smtplib
import sys
import time

import postfix_peer
from postfix_peer import PostfixPeer
from smtp_peer import daemon, inbox
from ternlib import check, run_tests

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


run_tests([test_postfix_relays_to_tern_over_starttls, test_postfix_bounces_an_unknown_recipient_with_tern_reason,
           test_postfix_retries_after_greylisting])
