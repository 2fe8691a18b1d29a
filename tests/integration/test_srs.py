"""SRS through the real tern-maild: mail to an alias that forwards to another domain leaves (to Postfix's
smtp-sink as remote.test's MX, via [dns] local data) with the envelope sender rewritten to
SRS0=HHHH=TT=domain=local@<alias domain>, whose hash this test recomputes from the secret file with
Python's hmac (the libsrs2 format); local senders and relayed submissions keep their sender; a bounce to
the SRS address is accepted from anyone and goes to the original sender; forged, expired and malformed SRS
addresses get 550 5.1.1 with the reason."""
import base64
import hashlib
import hmac
import os
import re
import smtplib
import ssl
import tempfile
import time

from smtp_peer import Raw, expect
from ternlib import Daemon, check, run_tests, ternctl
from test_delivery import free_port, start_sink

PW = "correct horse battery"
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def stamp(days_ago=0):
    d = (int(time.time()) // 86400 - days_ago) % 1024
    return B32[d >> 5] + B32[d & 31]


def srs_hash(secret, *fields):
    # libsrs2 / postsrsd: base64(HMAC-SHA1(secret, lower-cased fields concatenated)), first 4 characters.
    mac = hmac.new(secret.encode(), "".join(fields).lower().encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()[:4]


class Setup:
    def __init__(self, srs=""):
        self.sinkdir = tempfile.mkdtemp(prefix="tern-srs-sink-")
        port = free_port()
        self.sink = start_sink(self.sinkdir, port)
        config = "".join('\n[[listen]]\nservice = "%s"\naddress = "127.0.0.1:0"\n' % s for s in ("smtp", "submissions"))
        config += ('\n[queue]\ncontrol_poll = "100ms"\nretry_schedule = ["1h"]\n'
                   '\n[dns]\nlocal_only = true\n'
                   'local_data = ["remote.test. MX 10 mx.test.", "outside.test. MX 10 mx.test.", '
                   '"mx.test. A 127.0.0.1", "nullmx.test. MX 0 ."]\n'
                   '\n[delivery]\nmx_port = %d\n' % port)
        self.d = Daemon(config + srs)
        for args, stdin in ((("domain", "add", "example.test"), None),
                            (("user", "add", "alice@example.test"), PW + "\n"),
                            (("alias", "add", "fwd@example.test", "carol@remote.test"), None),
                            (("alias", "add", "dead@example.test", "gone@nullmx.test"), None),
                            (("alias", "add", "mixed@example.test", "alice@example.test", "dan@remote.test"), None)):
            r = ternctl(self.d.config, *args, stdin=stdin)
            check(r.returncode == 0, "ternctl %s: %s%s" % (" ".join(args), r.stdout, r.stderr))

    def __enter__(self):
        self.d.start()
        return self

    def __exit__(self, *exc):
        try:
            self.d.__exit__(*exc)
        finally:
            self.sink.terminate()
            self.sink.wait()

    def secret(self):
        with open(os.path.join(self.d.tmp, "data", "srs.secret")) as f:
            return f.readline().strip()

    def messages(self, want, timeout=20):
        """The sink's dump split into messages, once `want` of them arrived."""
        deadline = time.time() + timeout
        while True:
            path = os.path.join(self.sinkdir, "dump")
            dump = open(path, errors="replace").read() if os.path.exists(path) else ""
            msgs = [m for m in re.split(r"(?m)^(?=X-Client-Addr:)", dump) if m.strip()]
            if len(msgs) >= want or time.time() > deadline:
                return msgs
            time.sleep(0.1)

    def smtp_send(self, sender, rcpts, body):
        s = smtplib.SMTP("127.0.0.1", self.d.port("smtp"), timeout=10)
        s.sendmail(sender, rcpts, "From: %s\r\nSubject: srs\r\n\r\n%s\r\n" % (sender, body))
        s.quit()


def mail_from(msg):
    m = re.search(r"(?m)^X-Mail-Args: <([^>]*)>", msg)
    check(m, "no X-Mail-Args in %r" % msg[:400])
    return m.group(1)


def with_body(msgs, text):
    found = [m for m in msgs if text in m]
    check(len(found) == 1, "one message with %r in %r" % (text, msgs))
    return found[0]


def test_forward_rewrites_and_bounce_comes_back():
    with Setup() as t:
        t.smtp_send("Dave@Outside.test", ["fwd@example.test"], "forwarded-1")
        msg = with_body(t.messages(1), "forwarded-1")
        srs = mail_from(msg)
        m = re.fullmatch(r"SRS0=(.{4})=(..)=Outside\.test=Dave@example\.test", srs)
        check(m, "SRS0 sender at the alias's domain: %r" % srs)
        check(m.group(2) == stamp(), "TT is today's day number: %r" % srs)
        check(m.group(1) == srs_hash(t.secret(), m.group(2), "Outside.test", "Dave"),
              "the hash is libsrs2's HMAC-SHA1 of the secret file: %r" % srs)
        check("<carol@remote.test>" in msg, msg[:400])
        t.d.wait_log(r"smtp\.queued .*srs_from=\"?SRS0=")

        # The bounce: from anyone, null sender, to the SRS address (also lower-cased, as some MTAs do).
        for n, rcpt in enumerate((srs, srs.lower())):
            c = Raw(t.d.port("smtp"))
            expect(c.reply(), 220)
            expect(c.cmd("EHLO mx.remote.test"), 250)
            expect(c.cmd("MAIL FROM:<>"), 250)
            expect(c.cmd("RCPT TO:<%s>" % rcpt), 250)
            expect(c.cmd("DATA"), 354)
            c.send("From: MAILER-DAEMON@remote.test\r\nSubject: bounce %d\r\n\r\nbounce-body-%d\r\n.\r\n" % (n, n))
            expect(c.reply(), 250)
            c.cmd("QUIT")
        msgs = t.messages(3)
        for n in range(2):
            b = with_body(msgs, "bounce-body-%d" % n)
            check(mail_from(b) == "", "the bounce keeps its null sender: %r" % b[:300])
            check(re.search(r"(?mi)^X-Rcpt-Args: <dave@outside\.test>", b), "the bounce reaches the sender: %r" % b[:400])
        t.d.wait_log(r"smtp\.srs_reversed .*to=\"?Dave@Outside\.test")


def test_quoted_local_part_is_rewritten_as_one_address():
    # RFC 5321 §4.1.2: "dave..smith"@outside.test (not a Dot-string) forwards as
    # "SRS0=HHHH=TT=Outside.test=dave..smith"@example.test, quoted as a whole so the remote MTA reads one
    # address; the bounce to it finds the sender again. (smtp-sink splits commands at spaces, so no space here.)
    with Setup() as t:
        t.smtp_send('"dave..smith"@Outside.test', ["fwd@example.test"], "quoted-1")
        srs = mail_from(with_body(t.messages(1), "quoted-1"))
        m = re.fullmatch(r'"SRS0=(.{4})=(..)=Outside\.test=dave\.\.smith"@example\.test', srs)
        check(m, "one quoted SRS0 address: %r" % srs)
        check(m.group(1) == srs_hash(t.secret(), m.group(2), "Outside.test", "dave..smith"),
              "the hash covers the unquoted local part: %r" % srs)
        c = Raw(t.d.port("smtp"))
        expect(c.reply(), 220)
        expect(c.cmd("EHLO mx.remote.test"), 250)
        expect(c.cmd("MAIL FROM:<>"), 250)
        expect(c.cmd("RCPT TO:<%s>" % srs), 250)
        expect(c.cmd("DATA"), 354)
        c.send("From: MAILER-DAEMON@remote.test\r\nSubject: bounce\r\n\r\nquoted-bounce\r\n.\r\n")
        expect(c.reply(), 250)
        c.cmd("QUIT")
        b = with_body(t.messages(2), "quoted-bounce")
        check(re.search(r'(?mi)^X-Rcpt-Args: <"dave\.\.smith"@outside\.test>', b), "the bounce reaches the sender: %r" % b[:400])


def test_our_own_bounce_of_a_forward_reaches_the_sender():
    """The forward fails permanently (null MX, RFC 7505): the queue's DSN goes to the SRS sender, which is
    reversed locally and sent on to the original sender with the null sender."""
    with Setup() as t:
        t.smtp_send("dave@outside.test", ["dead@example.test"], "doomed-forward")
        t.d.wait_log(r"queue\.(failed|bounced) .*gone@nullmx\.test", timeout=20)
        t.d.wait_log(r"queue\.srs_reversed .*to=\"?dave@outside\.test", timeout=20)
        dsn = with_body(t.messages(1), "gone@nullmx.test")
        check(mail_from(dsn) == "", "a DSN has the null sender: %r" % dsn[:300])
        check(re.search(r"(?m)^X-Rcpt-Args: <dave@outside\.test>", dsn), dsn[:400])
        check("multipart/report" in dsn and "RFC 7505" in dsn, dsn[:1500])


def test_invalid_srs_addresses_are_refused():
    with Setup() as t:
        secret = t.secret()
        tt = stamp()
        good_hash = srs_hash(secret, tt, "outside.test", "dave")
        forged = "SRS0=%s=%s=outside.test=mallory@example.test" % (good_hash, tt)
        old_tt = stamp(days_ago=30)
        expired = "SRS0=%s=%s=outside.test=dave@example.test" % (srs_hash(secret, old_tt, "outside.test", "dave"), old_tt)
        still_valid = "SRS0=%s=%s=outside.test=dave@example.test" % (
            srs_hash(secret, stamp(20), "outside.test", "dave"), stamp(20))
        c = Raw(t.d.port("smtp"))
        expect(c.reply(), 220)
        expect(c.cmd("EHLO mx.remote.test"), 250)
        expect(c.cmd("MAIL FROM:<>"), 250)
        r = c.cmd("RCPT TO:<%s>" % forged)
        expect(r, 550, "5.1.1")
        check("not a valid bounce address" in r[-1] and "hash" in r[-1], r)
        r = c.cmd("RCPT TO:<%s>" % expired)
        expect(r, 550, "5.1.1")
        check("expired" in r[-1] and "21 days" in r[-1], r)
        r = c.cmd("RCPT TO:<SRS0=%s=%s=outside.test@example.test>" % (good_hash, tt))
        expect(r, 550, "5.1.1")
        check("malformed" in r[-1], r)
        expect(c.cmd("RCPT TO:<%s>" % still_valid), 250)  # 20 days old: within the default 21
        # An SRS address at a domain that is not ours is just a relay attempt.
        r = c.cmd("RCPT TO:<SRS0=%s=%s=outside.test=dave@remote.test>" % (good_hash, tt))
        expect(r, 554, "5.7.1")
        c.cmd("QUIT")


def test_local_senders_and_relay_keep_their_sender():
    with Setup() as t:
        c = ssl.create_default_context()
        c.check_hostname = False
        c.verify_mode = ssl.CERT_NONE
        s = smtplib.SMTP_SSL("127.0.0.1", t.d.port("submissions"), context=c, timeout=10)
        s.login("alice@example.test", PW)
        s.sendmail("alice@example.test", ["fwd@example.test"], "From: alice@example.test\r\n\r\nlocal-forward\r\n")
        s.sendmail("alice@example.test", ["erin@remote.test"], "From: alice@example.test\r\n\r\nrelayed\r\n")
        s.quit()
        # A message for a local mailbox and a forward at once: the local copy keeps the sender, the forward
        # is rewritten; null senders are never rewritten.
        t.smtp_send("dave@outside.test", ["mixed@example.test"], "mixed-1")
        s = smtplib.SMTP("127.0.0.1", t.d.port("smtp"), timeout=10)
        s.sendmail("", ["fwd@example.test"], "From: MAILER-DAEMON@outside.test\r\n\r\nnull-sender\r\n")
        s.quit()
        msgs = t.messages(4)
        check(mail_from(with_body(msgs, "local-forward")) == "alice@example.test", "a local sender is not rewritten")
        check(mail_from(with_body(msgs, "relayed")) == "alice@example.test", "relayed submission is not rewritten")
        check(mail_from(with_body(msgs, "mixed-1")).startswith("SRS0="), "the forward of a mixed alias is rewritten")
        check(mail_from(with_body(msgs, "null-sender")) == "", "the null sender stays null")
        stored = [open(os.path.join(dp, f)).read() for dp, _, fs in
                  os.walk(os.path.join(t.d.tmp, "data", "mail", "example.test", "alice")) for f in fs
                  if os.sep + "new" in dp]
        mixed = [m for m in stored if "mixed-1" in m]
        check(len(mixed) == 1 and mixed[0].startswith("Return-Path: <dave@outside.test>"), stored)


def test_fixed_srs_domain_and_disabled():
    with Setup('\n[srs]\ndomain = "bounces.example.test"\nmax_age = "7d"\n') as t:
        t.smtp_send("dave@outside.test", ["fwd@example.test"], "fixed-domain")
        srs = mail_from(with_body(t.messages(1), "fixed-domain"))
        check(re.fullmatch(r"SRS0=.{4}=..=outside\.test=dave@bounces\.example\.test", srs), srs)
        c = Raw(t.d.port("smtp"))
        expect(c.reply(), 220)
        expect(c.cmd("EHLO mx.remote.test"), 250)
        expect(c.cmd("MAIL FROM:<>"), 250)
        expect(c.cmd("RCPT TO:<%s>" % srs), 250)  # [srs] domain need not be a directory domain
        old_tt = stamp(days_ago=8)
        r = c.cmd("RCPT TO:<SRS0=%s=%s=outside.test=dave@bounces.example.test>" %
                  (srs_hash(t.secret(), old_tt, "outside.test", "dave"), old_tt))
        expect(r, 550, "5.1.1")
        check("7 days" in r[-1], r)
        c.cmd("QUIT")
    with Setup('\n[srs]\nenabled = false\n') as t:
        t.smtp_send("dave@outside.test", ["fwd@example.test"], "no-srs")
        check(mail_from(with_body(t.messages(1), "no-srs")) == "dave@outside.test", "enabled = false: no rewrite")
        check(not os.path.exists(os.path.join(t.d.tmp, "data", "srs.secret")), "no secret file when disabled")


run_tests([test_forward_rewrites_and_bounce_comes_back, test_quoted_local_part_is_rewritten_as_one_address,
           test_our_own_bounce_of_a_forward_reaches_the_sender,
           test_invalid_srs_addresses_are_refused,
           test_local_senders_and_relay_keep_their_sender, test_fixed_srs_domain_and_disabled])
