"""Inbound policy through the real daemon: rate limits per client and per login, greylisting, the
pregreet test, per-domain size limits and full mailboxes refused at RCPT — each with the reply code,
enhanced status code and sentence a sender sees."""
import smtplib
import time

from smtp_peer import PW, Raw, ctx, daemon, expect, inbox
from ternlib import check, run_tests, ternctl

MSG = "From: a@remote.test\r\nTo: alice@example.test\r\nSubject: policy\r\n\r\nhello\r\n"


def mail_from(raw, sender="a@remote.test", rcpt="alice@example.test"):
    expect(raw.cmd("MAIL FROM:<%s>" % sender), 250)
    return raw.cmd("RCPT TO:<%s>" % rcpt)


def session(port):
    raw = Raw(port)
    expect(raw.reply(), 220)
    expect(raw.cmd("EHLO client.remote.test"), 250)
    return raw


def test_rate_limit_per_client_ip():
    with daemon('\n[smtp.rate_limit]\nip_messages_per_minute = 3\nip_recipients_per_minute = 100\n') as d:
        raw = session(d.port("smtp"))
        for _ in range(3):
            expect(mail_from(raw), 250)
            expect(raw.cmd("RSET"), 250)
        lines = raw.cmd("MAIL FROM:<a@remote.test>")
        expect(lines, 451, "4.7.1")
        check("try again in 20 seconds" in lines[-1], "the reply says when to retry: %r" % lines)
        # A new connection from the same address is still limited; the log names the client.
        raw2 = session(d.port("smtp"))
        expect(raw2.cmd("MAIL FROM:<a@remote.test>"), 451, "4.7.1")
        d.wait_log(r"smtp\.rate_limited .*127\.0\.0\.1")


def test_rate_limit_per_login_on_submission():
    with daemon('\n[smtp.rate_limit]\nuser_recipients_per_minute = 2\n') as d:
        s = smtplib.SMTP("127.0.0.1", d.port("submission"), timeout=10)
        s.starttls(context=ctx())
        s.login("alice@example.test", PW)
        s.mail("alice@example.test")
        check(s.rcpt("bob@example.test")[0] == 250, "first recipient")
        check(s.rcpt("alice@example.test")[0] == 250, "second recipient")
        code, text = s.rcpt("sales@example.test")
        check(code == 451 and text.startswith(b"4.7.1") and b"alice@example.test" in text,
              "third recipient within the minute is limited per login: %r" % ((code, text),))
        s.quit()


def test_greylisting_defers_first_attempt_then_accepts_the_retry():
    with daemon('\n[smtp.greylist]\nenabled = true\ndelay = "2s"\n') as d:
        raw = session(d.port("smtp"))
        lines = mail_from(raw)
        expect(lines, 451, "4.7.1")
        check("Greylisted" in lines[-1], "the reply says it is greylisting: %r" % lines)
        expect(raw.cmd("RSET"), 250)
        expect(mail_from(raw), 451, "4.7.1")  # too early
        time.sleep(2.2)
        expect(raw.cmd("RSET"), 250)
        expect(mail_from(raw), 250)
        expect(raw.cmd("DATA"), 354)
        expect(raw.cmd(MSG + "."), 250)
        check(len(inbox(d, "alice")) == 1, "the retried message is delivered")
        # Authenticated submission is never greylisted.
        s = smtplib.SMTP("127.0.0.1", d.port("submission"), timeout=10)
        s.starttls(context=ctx())
        s.login("bob@example.test", PW)
        s.sendmail("bob@example.test", ["alice@example.test"], MSG.replace("a@remote.test", "bob@example.test"))
        s.quit()
        check(len(inbox(d, "alice")) == 2, "submission is not greylisted")


def test_greylisting_remembers_passed_senders_across_a_restart():
    with daemon('\n[smtp.greylist]\nenabled = true\ndelay = "1s"\n') as d:
        raw = session(d.port("smtp"))
        expect(mail_from(raw), 451, "4.7.1")
        time.sleep(1.2)
        expect(raw.cmd("RSET"), 250)
        expect(mail_from(raw), 250)  # passed
        raw.cmd("QUIT")
        # A sender seen once and not yet retried stays pending too.
        raw = session(d.port("smtp"))
        expect(mail_from(raw, sender="pending@remote.test"), 451, "4.7.1")
        raw.cmd("QUIT")
        check(d.stop() == 0, "clean stop")
        time.sleep(1.1)  # down for longer than the delay
        d.log_lines, d.ports = [], {}
        d.start()
        check(any("greylist.loaded" in l and "triplets=2" in l for l in d.log_lines), "state loaded: %s" % d.logs())
        raw = session(d.port("smtp"))
        try:
            expect(mail_from(raw), 250)  # not greylisted again after the restart
            expect(raw.cmd("RSET"), 250)
            expect(mail_from(raw, sender="pending@remote.test"), 250)  # its delay ran out while the server was down
            expect(raw.cmd("RSET"), 250)
            expect(mail_from(raw, sender="new@remote.test"), 451, "4.7.1")
        finally:
            raw.cmd("QUIT")


def test_pregreet_talkers_are_refused():
    with daemon('\n[smtp]\npregreet_wait = "700ms"\n') as d:
        raw = Raw(d.port("smtp"))
        raw.send("EHLO bot.remote.test\r\n")  # before the greeting
        lines = raw.reply()
        expect(lines, 554, "5.5.1")
        check("talked before my greeting" in lines[-1], "sentence: %r" % lines)
        # A well-behaved client waits and gets through.
        s = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=10)
        s.sendmail("a@remote.test", ["alice@example.test"], MSG)
        s.quit()
        check(len(inbox(d, "alice")) == 1, "patient client delivered")


def test_per_domain_size_limit():
    with daemon() as d:
        r = ternctl(d.config, "domain", "max-size", "example.test", "2K")
        check(r.returncode == 0, r.stdout + r.stderr)
        time.sleep(1.1)  # the running daemon picks directory changes up within a second
        big = MSG + "x" * 3000 + "\r\n"
        raw = session(d.port("smtp"))
        expect(raw.cmd("MAIL FROM:<a@remote.test> SIZE=%d" % len(big)), 250)
        lines = raw.cmd("RCPT TO:<alice@example.test>")
        expect(lines, 552, "5.3.4")
        check("example.test" in lines[-1] and "2048" in lines[-1], "names the domain and limit: %r" % lines)
        # Undeclared size: refused at the end of data, nothing stored.
        expect(raw.cmd("RSET"), 250)
        expect(mail_from(raw), 250)
        expect(raw.cmd("DATA"), 354)
        expect(raw.cmd(big + "."), 552, "5.3.4")
        check(inbox(d, "alice") == [], "nothing stored")
        # Small messages still pass; other domains keep the server limit.
        expect(mail_from(raw), 250)
        expect(raw.cmd("DATA"), 354)
        expect(raw.cmd(MSG + "."), 250)
        check(len(inbox(d, "alice")) == 1, "small message delivered")


def test_full_mailbox_is_refused_at_rcpt():
    with daemon() as d:
        r = ternctl(d.config, "user", "quota", "alice@example.test", "4K", "1")  # 4 KiB or one message
        check(r.returncode == 0, r.stdout + r.stderr)
        time.sleep(1.1)  # the running daemon picks directory changes up within a second
        s = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=10)
        # A declared SIZE over what is left is refused before the body is sent.
        s.ehlo()
        s.mail("a@remote.test", ["SIZE=5000"])
        code, text = s.rcpt("alice@example.test")
        check(code == 552 and text.startswith(b"5.2.2"), "SIZE over the quota at RCPT: %r" % ((code, text),))
        s.rset()
        s.sendmail("a@remote.test", ["alice@example.test"], MSG)  # the one message it may hold
        s.mail("a@remote.test")
        code, text = s.rcpt("alice@example.test")
        check(code == 552 and text.startswith(b"5.2.2") and b"full" in text, "full mailbox at RCPT: %r" % ((code, text),))
        # An alias that also reaches a mailbox with room still accepts (bob gets his copy).
        code, _ = s.rcpt("team@example.test")
        check(code == 250, "alias with one mailbox not full is accepted")
        s.quit()
        check(len(inbox(d, "alice")) == 1, "alice holds her one message")


run_tests([test_rate_limit_per_client_ip, test_rate_limit_per_login_on_submission,
           test_greylisting_defers_first_attempt_then_accepts_the_retry,
           test_greylisting_remembers_passed_senders_across_a_restart, test_pregreet_talkers_are_refused,
           test_per_domain_size_limit, test_full_mailbox_is_refused_at_rcpt])
