"""SMTP, submission, SMTPS and LMTP through the real tern-maild, driven by Python's smtplib, raw sockets
(for what smtplib will not send: smuggling payloads, pipelined STARTTLS, BDAT) and swaks."""
import base64
import shutil
import smtplib
import subprocess
import time

from smtp_peer import PW, Raw, ctx, daemon, expect, inbox
from ternlib import check, run_tests


def test_inbound_delivery_to_a_local_mailbox():
    with daemon() as d:
        s = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=10)
        code, ehlo = s.ehlo("client.test")
        check(code == 250, ehlo)
        for ext in ("pipelining", "size", "8bitmime", "smtputf8", "starttls", "chunking", "dsn",
                    "enhancedstatuscodes"):
            check(s.has_extn(ext), "EHLO lacks %s: %r" % (ext, ehlo))
        check(not s.has_extn("auth"), "AUTH must not be offered on the MTA port in clear")
        refused = s.sendmail("carol@remote.test", ["alice@example.test"],
                             "From: carol@remote.test\r\nTo: alice@example.test\r\nSubject: hello\r\n\r\nHi Alice\r\n")
        check(refused == {}, refused)
        s.quit()
        msgs = inbox(d, "alice")
        check(len(msgs) == 1, "want 1 message, found %d" % len(msgs))
        m = msgs[0]
        check(m.startswith("Return-Path: <carol@remote.test>\n") or m.startswith("Return-Path: <carol@remote.test>\r\n"), m[:80])
        check("Received: from client.test ([127.0.0.1])" in m and "by mail.example.test (Tern) with ESMTP" in m, m)
        check("for <alice@example.test>" in m and "Subject: hello" in m and "Hi Alice" in m, m)


def test_aliases_subaddress_and_one_copy_per_mailbox():
    with daemon() as d:
        s = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=10)
        refused = s.sendmail("carol@remote.test", ["sales@example.test", "alice+news@example.test", "team@example.test"],
                             "Subject: multi\r\n\r\nbody\r\n")
        check(refused == {}, refused)
        s.quit()
        check(len(inbox(d, "alice")) == 1, "alice must get exactly one copy, got %d" % len(inbox(d, "alice")))
        check(len(inbox(d, "bob")) == 1, "bob (via the team alias) must get one copy")


def test_unknown_recipient_and_open_relay_are_refused():
    with daemon() as d:
        s = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=10)
        s.ehlo("client.test")
        s.mail("carol@remote.test")
        code, msg = s.rcpt("nobody@example.test")
        check(code == 550 and msg.startswith(b"5.1.1"), (code, msg))
        code, msg = s.rcpt("victim@elsewhere.test")
        check(code == 554 and msg.startswith(b"5.7.1") and b"Relay access denied" in msg, (code, msg))
        s.rset()
        # Claiming one of our own domains without logging in is refused (anti-spoofing at the MX).
        code, msg = s.mail("alice@example.test")
        check(code == 550 and msg.startswith(b"5.7.1"), (code, msg))
        s.quit()
        d.wait_log(r"smtp\.relay_denied .*rcpt=victim@elsewhere\.test")


def test_submission_requires_tls_and_auth():
    with daemon() as d:
        s = smtplib.SMTP("127.0.0.1", d.port("submission"), timeout=10)
        s.ehlo("client.test")
        check(not s.has_extn("auth"), "AUTH offered before TLS on a public listener")
        code, msg = s.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0alice@example.test\0" + PW.encode()).decode())
        # Refused without reading the password: 538 5.7.11 (encryption required) or 503 5.5.1 (not offered).
        check((code, msg[:6]) in ((538, b"5.7.11"), (503, b"5.5.1 ")), "plaintext AUTH before TLS: %r" % ((code, msg),))
        code, msg = s.mail("alice@example.test")
        check(code == 530 and msg.startswith(b"5.7.0"), "MAIL without AUTH on submission: %r" % ((code, msg),))
        s.starttls(context=ctx())
        s.ehlo("client.test")
        mechs = s.esmtp_features.get("auth", "").split()
        for m in ("PLAIN", "LOGIN"):
            check(m in mechs, "AUTH after TLS lacks %s: %r" % (m, mechs))
        # Passwords are stored as SHA512-CRYPT by default: SCRAM could never succeed, so it is not offered.
        check("SCRAM-SHA-256" not in mechs, "SCRAM offered without SCRAM credentials: %r" % (mechs,))
        s.login("alice@example.test", PW)  # smtplib prefers PLAIN here
        check(s.sendmail("alice@example.test", ["bob@example.test"], "From: Alice <alice@example.test>\r\n"
                         "Subject: via submission\r\n\r\nx\r\n") == {}, "send failed")
        s.quit()
        msgs = inbox(d, "bob")
        check(len(msgs) == 1 and "(authenticated as alice@example.test)" in msgs[0], msgs)
        check("with ESMTPSA" in msgs[0], "Received must say ESMTPSA: " + msgs[0][:400])


def test_smtps_with_auth_login():
    with daemon() as d:
        s = smtplib.SMTP_SSL("127.0.0.1", d.port("submissions"), context=ctx(), timeout=10)
        s.ehlo("client.test")
        s.user, s.password = "alice@example.test", PW
        code, msg = s.auth("LOGIN", s.auth_login)
        check(code == 235, (code, msg))
        check(s.sendmail("alice@example.test", ["bob@example.test"], "Subject: smtps\r\n\r\nx\r\n") == {}, "send failed")
        s.quit()
        check(len(inbox(d, "bob")) == 1, "message not delivered")


def test_wrong_password_costs_the_attacker_time():
    with daemon() as d:
        s = smtplib.SMTP_SSL("127.0.0.1", d.port("submissions"), context=ctx(), timeout=30)
        s.ehlo("client.test")
        t0 = time.time()
        try:
            s.login("alice@example.test", "wrong password")
            raise AssertionError("wrong password accepted")
        except smtplib.SMTPAuthenticationError as e:
            check(e.smtp_code == 535 and e.smtp_error.startswith(b"5.7.8"), e)
        check(time.time() - t0 >= 0.9, "a failed login answered without delay (%.2fs)" % (time.time() - t0))
        d.wait_log(r"auth\.failed .*ip=127\.0\.0\.1.*protocol=smtp")


def test_spoofing_after_auth_is_refused():
    with daemon() as d:
        s = smtplib.SMTP_SSL("127.0.0.1", d.port("submissions"), context=ctx(), timeout=10)
        s.login("alice@example.test", PW)
        code, msg = s.mail("bob@example.test")
        check(code == 553 and msg.startswith(b"5.7.1"), "MAIL FROM someone else: %r" % ((code, msg),))
        s.rset()
        # Own alias is fine; a forged From: header is not.
        check(s.sendmail("sales@example.test", ["bob@example.test"], "From: sales@example.test\r\n\r\nok\r\n") == {}, "")
        try:
            s.sendmail("alice@example.test", ["bob@example.test"], "From: The Boss <bob@example.test>\r\n\r\nx\r\n")
            raise AssertionError("forged From: header accepted")
        except smtplib.SMTPDataError as e:
            check(e.smtp_code == 553 and e.smtp_error.startswith(b"5.7.1"), e)
        s.quit()
        check(len(inbox(d, "bob")) == 1, "only the honest message may arrive")


def test_smuggling_payloads_never_make_a_second_message():
    with daemon() as d:
        for end in (b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n"):
            r = Raw(d.port("smtp"))
            r.reply()
            expect(r.cmd("EHLO client.test"), 250)
            expect(r.cmd("MAIL FROM:<carol@remote.test>"), 250)
            expect(r.cmd("RCPT TO:<alice@example.test>"), 250)
            expect(r.cmd("DATA"), 354)
            r.send(b"Subject: outer\r\n\r\nfirst" + end + b"MAIL FROM:<evil@remote.test>\r\nRCPT TO:<bob@example.test>\r\n"
                   b"DATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n")
            reply = r.reply()
            expect(reply, 550, "5.6.0")
            r.cmd("QUIT")
        check(inbox(d, "bob") == [], "a smuggled message reached bob")
        check(inbox(d, "alice") == [], "messages with bare line endings must be refused whole")


def test_starttls_injection_is_discarded():
    with daemon() as d:
        r = Raw(d.port("smtp"))
        r.reply()
        expect(r.cmd("EHLO client.test"), 250)
        r.send(b"STARTTLS\r\nMAIL FROM:<injected@remote.test>\r\n")
        expect(r.reply(), 220, "2.0.0")
        r.sock = ctx().wrap_socket(r.sock)
        r.buf = b""
        # After the handshake the session starts over: MAIL without EHLO is a sequence error, and the
        # injected MAIL was never answered.
        expect(r.cmd("MAIL FROM:<carol@remote.test>"), 503)
        expect(r.cmd("EHLO client.test"), 250)
        expect(r.cmd("MAIL FROM:<carol@remote.test>"), 250)
        r.cmd("QUIT")
        d.wait_log(r"smtp\.starttls_injection")


def test_limits_size_recipients_and_line_length():
    with daemon('\n[smtp]\nmax_message_size = "64K"\n') as d:
        s = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=10)
        s.ehlo("client.test")
        check(s.esmtp_features.get("size") == str(64 * 1024), s.esmtp_features)
        code, msg = s.mail("carol@remote.test", ["SIZE=%d" % (10 * 1024 * 1024)])
        check(code == 552 and msg.startswith(b"5.3.4"), (code, msg))
        s.quit()
        r = Raw(d.port("smtp"))
        r.reply()
        expect(r.cmd("EHLO client.test"), 250)
        # A body over the limit without a SIZE declaration is refused at its end.
        expect(r.cmd("MAIL FROM:<carol@remote.test>"), 250)
        expect(r.cmd("RCPT TO:<alice@example.test>"), 250)
        expect(r.cmd("DATA"), 354)
        r.send(b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 100 + b".\r\n")
        expect(r.reply(), 552, "5.3.4")
        expect(r.cmd("NOOP " + "x" * 600), 500, "5.5.2")
        expect(r.cmd("MAIL FROM:<carol@remote.test>"), 250)
        replies = [r.cmd("RCPT TO:<alice+%d@example.test>" % i) for i in range(101)]
        for rep in replies[:100]:
            expect(rep, 250)
        expect(replies[100], 452, "4.5.3")
        expect(r.cmd("QUIT"), 221)
        check(inbox(d, "alice") == [], "nothing may be delivered")


def test_bdat_chunking_and_smtputf8():
    with daemon() as d:
        r = Raw(d.port("smtp"))
        r.reply()
        expect(r.cmd("EHLO client.test"), 250)
        expect(r.cmd("MAIL FROM:<jörg@remote.test> SMTPUTF8 BODY=8BITMIME"), 250)
        expect(r.cmd("RCPT TO:<alice@example.test>"), 250)
        part1 = "Subject: Grüße\r\n\r\n".encode()
        part2 = "über BDAT\r\n".encode()
        r.send(b"BDAT %d\r\n" % len(part1) + part1)
        expect(r.reply(), 250)
        r.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
        expect(r.reply(), 250, "2.0.0")
        r.cmd("QUIT")
        msgs = inbox(d, "alice")
        check(len(msgs) == 1 and "über BDAT" in msgs[0] and "Return-Path: <jörg@remote.test>" in msgs[0], msgs)
        check("with UTF8ESMTP" in msgs[0], "Received must record UTF8ESMTP (RFC 6531): " + msgs[0][:300])


def test_envelope_paths_quoted_routed_and_over_long():
    # The paths go through lib/mime's RFC 5321 parser and on to the directory: a needlessly quoted local
    # part and a source route reach the same mailbox, an unknown quoted one is unknown (not a lookup
    # failure), over-long and malformed paths are refused before the directory sees them.
    with daemon() as d:
        r = Raw(d.port("smtp"))
        r.reply()
        expect(r.cmd("EHLO client.test"), 250)
        expect(r.cmd("MAIL FROM:<carol@remote.test>"), 250)
        expect(r.cmd('RCPT TO:<"alice"@example.test>'), 250)
        expect(r.cmd("RCPT TO:<@relay.remote.test,@hop.remote.test:Alice@EXAMPLE.test>"), 250)
        expect(r.cmd('RCPT TO:<"no body"@example.test>'), 550, "5.1.1")
        expect(r.cmd("RCPT TO:<%s@example.test>" % ("a" * 65)), 501, "5.1.3")
        expect(r.cmd("RCPT TO:<a@[IPv6:2001:db8::g]>"), 501, "5.1.3")
        expect(r.cmd("RCPT TO:<@relay.remote.test,:alice@example.test>"), 501, "5.1.3")
        expect(r.cmd("RCPT TO:<jörg@example.test>"), 553, "5.6.7")
        expect(r.cmd("DATA"), 354)
        expect(r.cmd("Subject: paths\r\n\r\nrouted and quoted\r\n."), 250)
        r.cmd("QUIT")
        msgs = inbox(d, "alice")
        check(len(msgs) == 1 and "routed and quoted" in msgs[0], "alice must get one copy: %r" % msgs)


def test_lmtp_replies_per_recipient():
    with daemon() as d:
        r = Raw(d.port("lmtp"))
        r.reply()
        expect(r.cmd("LHLO client.test"), 250)
        expect(r.cmd("MAIL FROM:<carol@remote.test>"), 250)
        expect(r.cmd("RCPT TO:<alice@example.test>"), 250)
        expect(r.cmd("RCPT TO:<bob@example.test>"), 250)
        expect(r.cmd("RCPT TO:<x@elsewhere.test>"), 550, "5.1.2")
        expect(r.cmd("DATA"), 354)
        r.send(b"Subject: lmtp\r\n\r\nper recipient\r\n.\r\n")
        expect(r.reply(), 250)  # alice
        expect(r.reply(), 250)  # bob
        r.cmd("QUIT")
        check(len(inbox(d, "alice")) == 1 and len(inbox(d, "bob")) == 1, "LMTP delivery missing")


def test_idle_clients_are_timed_out():
    with daemon('\n[limits]\nidle_timeout = "1s"\n') as d:
        r = Raw(d.port("smtp"))
        r.reply()
        t0 = time.time()
        line = r.line()
        check(line.startswith("421 4.4.2"), "want a 421 4.4.2 timeout, got %r" % line)
        check(time.time() - t0 < 10, "timeout took too long")


def test_swaks_pipelining_tls_and_auth():
    swaks = shutil.which("swaks")
    check(swaks is not None, "swaks is not installed (scripts/deps installs it)")
    with daemon() as d:
        r = subprocess.run([swaks, "--server", "127.0.0.1", "--port", str(d.port("submission")), "--tls",
                            "--auth", "PLAIN", "--auth-user", "alice@example.test", "--auth-password", PW,
                            "--from", "alice@example.test", "--to", "bob@example.test", "--pipeline",
                            "--header", "Subject: from swaks", "--body", "pipelined over TLS"],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "swaks failed:\n" + r.stdout[-3000:] + r.stderr)
        check("250 2.0.0" in r.stdout, r.stdout[-2000:])
        msgs = inbox(d, "bob")
        check(len(msgs) == 1 and "pipelined over TLS" in msgs[0], msgs)


run_tests([test_inbound_delivery_to_a_local_mailbox, test_aliases_subaddress_and_one_copy_per_mailbox,
           test_unknown_recipient_and_open_relay_are_refused, test_submission_requires_tls_and_auth,
           test_smtps_with_auth_login, test_wrong_password_costs_the_attacker_time, test_spoofing_after_auth_is_refused,
           test_smuggling_payloads_never_make_a_second_message, test_starttls_injection_is_discarded,
           test_limits_size_recipients_and_line_length, test_bdat_chunking_and_smtputf8, test_envelope_paths_quoted_routed_and_over_long,
           test_lmtp_replies_per_recipient,
           test_idle_clients_are_timed_out, test_swaks_pipelining_tls_and_auth])
