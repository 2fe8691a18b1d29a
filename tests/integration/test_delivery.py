"""Outbound delivery through the real tern-maild: an authenticated submission to bob@remote.test is queued,
the resolver's [dns] local data (never the public DNS) points remote.test's MX at 127.0.0.1, and the
SmtpTransport hands it to Postfix's smtp-sink on [delivery] mx_port; the sink's dump has the message."""
import os
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time

from ternlib import Daemon, check, run_tests, ternctl

PW = "correct horse battery"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start_sink(directory, port):
    args = ["/usr/sbin/smtp-sink", "-D", os.path.join(directory, "dump")]
    if os.geteuid() == 0:
        os.chmod(directory, 0o777)
        args += ["-u", "nobody"]
    proc = subprocess.Popen(args + ["127.0.0.1:%d" % port, "10"])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("smtp-sink did not start")


def test_submission_leaves_by_mx_to_smtp_sink():
    sinkdir = tempfile.mkdtemp(prefix="tern-sink-")
    port = free_port()
    sink = start_sink(sinkdir, port)
    try:
        config = ''.join('\n[[listen]]\nservice = "%s"\naddress = "127.0.0.1:0"\n' % s for s in ("smtp", "submissions"))
        config += ('\n[queue]\ncontrol_poll = "100ms"\nretry_schedule = ["1h"]\n'
                   '\n[dns]\nlocal_only = true\n'
                   'local_data = ["remote.test. MX 10 mx.remote.test.", "mx.remote.test. A 127.0.0.1"]\n'
                   '\n[delivery]\nmx_port = %d\n' % port)
        d = Daemon(config)
        for args, stdin in ((("domain", "add", "example.test"), None),
                            (("user", "add", "alice@example.test"), PW + "\n")):
            r = ternctl(d.config, *args, stdin=stdin)
            check(r.returncode == 0, "ternctl %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
        with d.start():
            c = ssl.create_default_context()
            c.check_hostname = False
            c.verify_mode = ssl.CERT_NONE
            s = smtplib.SMTP_SSL("127.0.0.1", d.port("submissions"), context=c, timeout=10)
            s.login("alice@example.test", PW)
            s.sendmail("alice@example.test", ["bob@remote.test"],
                       "From: alice@example.test\r\nTo: bob@remote.test\r\nSubject: out\r\n\r\nleaving-by-mx\r\n")
            s.quit()
            d.wait_log(r"queue\.delivered .*bob@remote\.test", timeout=20)
            d.wait_log(r"delivery\.attempt .*mx\.remote\.test \[127\.0\.0\.1\]")
        deadline = time.time() + 5
        dump = ""
        while time.time() < deadline and "leaving-by-mx" not in dump:
            if os.path.exists(os.path.join(sinkdir, "dump")):
                dump = open(os.path.join(sinkdir, "dump"), errors="replace").read()
            time.sleep(0.1)
        check("leaving-by-mx" in dump and "Subject: out" in dump and "<bob@remote.test>" in dump, dump)
        check("X-Helo-Args: mail.example.test" in dump, dump)  # EHLO with the server's hostname
    finally:
        sink.terminate()
        sink.wait()


def test_transport_map_lmtp_to_another_tern():
    """[transport] "example.test" = "lmtp:..." hands mail to a second tern-maild's LMTP listener, which
    stores it in alice's mailbox."""
    from smtp_peer import daemon as peer_daemon, inbox
    with peer_daemon() as b:
        config = ''.join('\n[[listen]]\nservice = "%s"\naddress = "127.0.0.1:0"\n' % s for s in ("smtp", "submissions"))
        config += ('\n[queue]\ncontrol_poll = "100ms"\nretry_schedule = ["1h"]\n'
                   '\n[dns]\nlocal_only = true\n'
                   '\n[transport]\n"example.test" = "lmtp:127.0.0.1:%d"\n' % b.port("lmtp"))
        a = Daemon(config, hostname="front.example.org")
        for args, stdin in ((("domain", "add", "example.org"), None),
                            (("user", "add", "sender@example.org"), PW + "\n")):
            r = ternctl(a.config, *args, stdin=stdin)
            check(r.returncode == 0, "ternctl %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
        with a.start():
            c = ssl.create_default_context()
            c.check_hostname = False
            c.verify_mode = ssl.CERT_NONE
            s = smtplib.SMTP_SSL("127.0.0.1", a.port("submissions"), context=c, timeout=10)
            s.login("sender@example.org", PW)
            s.sendmail("sender@example.org", ["alice@example.test", "nobody@example.test"],
                       "From: sender@example.org\r\nTo: alice@example.test\r\nSubject: via lmtp\r\n\r\nthrough-lmtp\r\n")
            s.quit()
            a.wait_log(r"queue\.delivered .*alice@example\.test", timeout=20)
            # B refuses the unknown user per recipient (LMTP, RFC 2033): a permanent failure, not a deferral.
            a.wait_log(r"queue\.(failed|bounced) .*nobody@example\.test", timeout=20)
        msgs = inbox(b, "alice")
        check(len(msgs) == 1 and "through-lmtp" in msgs[0] and "Subject: via lmtp" in msgs[0], msgs)
        check("Return-Path: <sender@example.org>" in msgs[0], msgs[0][:200])


if __name__ == "__main__":
    run_tests([test_submission_leaves_by_mx_to_smtp_sink, test_transport_map_lmtp_to_another_tern])
