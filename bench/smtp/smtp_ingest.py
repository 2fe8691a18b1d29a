#!/usr/bin/python3
"""bench/smtp/smtp_ingest.py — inbound SMTP ingest: Postfix's smtp-source drives 2 KB messages over
persistent sessions to local recipients with durable Maildir delivery, against

  1. Tern (tern-maild, smtp role → MaildirStore, fsync before 250), and
  2. Postfix → Dovecot LMTP (the usual stack, Dovecot writing Maildir with its default fsync),

in the same run, and prints msgs/s for each and the ratio. While the load runs, a probe client sends
messages one at a time and reports its p50/p99 transaction latency (MAIL → 250 after the final dot).

Not a test: figures only. Needs root (Postfix, Dovecot), postfix and dovecot-lmtpd.
Usage: sudo bench/smtp/smtp_ingest.py [--build build] [--messages 20000] [--sessions 10,50]
"""
import argparse
import glob
import os
import pwd
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))

import ternlib  # noqa: E402
from postfix_peer import PostfixPeer, free_port  # noqa: E402

BODY = "From: load@remote.test\r\nTo: {rcpt}\r\nSubject: probe\r\n\r\n" + ("x" * 76 + "\r\n") * 25


def count_files(pattern):
    return len(glob.glob(pattern))


def run_load(port, messages, sessions, recipient, delivered, lmtp=False):
    """smtp-source with persistent sessions; returns (seconds until everything was delivered, probe latencies)."""
    before = delivered()
    latencies = []
    stop = threading.Event()

    def probe():
        while not stop.is_set():
            try:
                s = (smtplib.LMTP if lmtp else smtplib.SMTP)("127.0.0.1", port, timeout=30)
                s.ehlo("probe.remote.test")  # LHLO for LMTP
                while not stop.is_set():
                    t = time.perf_counter()
                    s.sendmail("probe@remote.test", [recipient], BODY.format(rcpt=recipient))
                    latencies.append(time.perf_counter() - t)
                s.quit()
            except (OSError, smtplib.SMTPException):
                time.sleep(0.05)

    cmd = ["/usr/sbin/smtp-source", "-d", "-c", "-s", str(sessions), "-l", "2048", "-m", str(messages),
           "-f", "load@remote.test", "-t", recipient, "-M", "load.remote.test"]
    if lmtp:
        cmd.append("-L")
    cmd.append("127.0.0.1:%d" % port)
    t0 = time.perf_counter()
    th = threading.Thread(target=probe, daemon=True)
    th.start()
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("smtp-source failed: " + out.stderr[-2000:])
    # Wait until every message is in the store (Postfix queues first, then delivers).
    want = before + messages
    deadline = time.time() + 600
    while delivered() < want and time.time() < deadline:
        time.sleep(0.05)
    elapsed = time.perf_counter() - t0
    stop.set()
    th.join(timeout=30)
    got = delivered() - before
    return elapsed, latencies, got


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000


def tern_target(build):
    ternlib.BUILD = build
    d = ternlib.Daemon('[[listen]]\nservice = "smtp"\naddress = "127.0.0.1:0"\n\n[limits]\nmax_connections_per_ip = 500\n'
                       '\n[smtp.rate_limit]\nip_messages_per_minute = 0\nip_recipients_per_minute = 0\n', tls=False)
    for args, stdin in ((("domain", "add", "example.test"), None), (("user", "add", "alice@example.test"), "pw-alice\n")):
        r = ternlib.ternctl(d.config, *args, stdin=stdin)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
    d.start()
    maildir = os.path.join(d.tmp, "data", "mail", "example.test", "alice")
    return d, d.port("smtp"), lambda: count_files(os.path.join(maildir, "new", "*")) + count_files(
        os.path.join(maildir, "cur", "*"))


class DovecotLmtp:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="tern-bench-dovecot-")
        os.chmod(self.tmp, 0o755)
        self.port = free_port()
        nobody = pwd.getpwnam("nobody")
        self.mail = os.path.join(self.tmp, "mail")
        for d in ("base", "state", "mail"):
            os.makedirs(os.path.join(self.tmp, d))
        os.chown(self.mail, nobody.pw_uid, nobody.pw_gid)
        self.conf = os.path.join(self.tmp, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(f"""protocols = lmtp
base_dir = {self.tmp}/base
state_dir = {self.tmp}/state
log_path = {self.tmp}/dovecot.log
ssl = no
default_internal_user = nobody
default_login_user = nobody
first_valid_uid = {nobody.pw_uid}
mail_location = maildir:{self.mail}/%d/%n
lmtp_save_to_detail_mailbox = no
passdb {{
  driver = static
  args = nopassword=y
}}
userdb {{
  driver = static
  args = uid={nobody.pw_uid} gid={nobody.pw_gid} home={self.mail}/%d/%n allow_all_users=yes
}}
service lmtp {{
  process_limit = 100
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.port}
  }}
}}
""")
        self.proc = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", self.conf])
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("dovecot lmtp did not start")

    def delivered(self):
        base = os.path.join(self.mail, "example.test", "alice")
        return count_files(os.path.join(base, "new", "*")) + count_files(os.path.join(base, "cur", "*"))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)
        shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "..", "build"))
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--sessions", default="10,50")
    ap.add_argument("--only", choices=["tern", "postfix"], help="run one side only (no ratio)")
    a = ap.parse_args()
    if os.getuid() != 0:
        sys.exit("smtp_ingest: run as root (Postfix and Dovecot need it)")
    sessions = [int(x) for x in a.sessions.split(",")]
    print("smtp_ingest: %d messages of 2 KB per run, persistent sessions, durable Maildir delivery" % a.messages)
    print("%-28s %8s %10s %9s %9s %9s" % ("target", "sessions", "msgs/s", "p50 ms", "p99 ms", "delivered"))
    rows = {}
    if a.only != "postfix":
        bench_tern(a, sessions, rows)
    if a.only != "tern":
        bench_postfix(a, sessions, rows)
    for s in sessions:
        if ("tern", s) in rows and ("postfix", s) in rows:
            print("ratio tern / (postfix -> dovecot lmtp), %d sessions: %.2fx (goal >= 4x)" %
                  (s, rows[("tern", s)] / rows[("postfix", s)]))


def bench_tern(a, sessions, rows):
    d, port, delivered = tern_target(os.path.abspath(a.build))
    try:
        for s in sessions:
            t, lat, got = run_load(port, a.messages, s, "alice@example.test", delivered)
            rows[("tern", s)] = a.messages / t
            print("%-28s %8d %10.0f %9.1f %9.1f %9d" % ("tern-maild", s, a.messages / t, pct(lat, .5), pct(lat, .99), got))
    finally:
        d.stop()


def bench_postfix(a, sessions, rows):
    dv = DovecotLmtp()
    try:
        with PostfixPeer(transport={"example.test": "lmtp:inet:127.0.0.1:%d" % dv.port},
                         extra_main="smtpd_client_connection_count_limit = 0\n") as pf:
            for s in sessions:
                t, lat, got = run_load(pf.port, a.messages, s, "alice@example.test", dv.delivered)
                rows[("postfix", s)] = a.messages / t
                print("%-28s %8d %10.0f %9.1f %9.1f %9d" % ("postfix -> dovecot lmtp", s, a.messages / t, pct(lat, .5),
                                                           pct(lat, .99), got))
        for s in sessions:
            t, lat, got = run_load(dv.port, a.messages, s, "alice@example.test", dv.delivered, lmtp=True)
            print("%-28s %8d %10.0f %9.1f %9.1f %9d" % ("smtp-source -> dovecot lmtp", s, a.messages / t, pct(lat, .5),
                                                       pct(lat, .99), got))
    finally:
        dv.stop()


if __name__ == "__main__":
    main()
