#!/usr/bin/python3
"""bench/smtp/relay.py — outbound relay throughput: Postfix's smtp-source submits 2 KB messages (50 sessions)
from an internal network; the server queues them durably and delivers to an smtp-sink "remote MX" over
persistent connections. Measured from the first message in to the last one handed to the sink:

  1. tern-maild with DKIM RSA-2048 signing on, and off;
  2. Postfix (relayhost to the same sink), no signing (OpenDKIM is not packaged here: the issue's
     reference figure for Postfix + OpenDKIM milter is ~110 msg/s).

Not a test: figures only. Needs root (Postfix). Usage: sudo bench/smtp/relay.py [--messages 5000]
"""
import argparse
import glob
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))

import ternlib  # noqa: E402
from postfix_peer import PostfixPeer, free_port  # noqa: E402


def sink(port):
    return subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "nobody", "-c", "127.0.0.1:%d" % port, "256"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def source(port, messages, sessions):
    r = subprocess.run(["/usr/sbin/smtp-source", "-d", "-c", "-s", str(sessions), "-l", "2048", "-m", str(messages),
                        "-f", "app@example.test", "-t", "someone@remote.test", "-M", "app.example.test",
                        "127.0.0.1:%d" % port], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("smtp-source: " + r.stderr[-2000:])


def wait_empty(count, timeout=900):
    deadline = time.time() + timeout
    while count() > 0 and time.time() < deadline:
        time.sleep(0.05)
    return count()


def bench_tern(build, messages, sessions, sign, sink_port):
    ternlib.BUILD = build
    d = ternlib.Daemon('[[listen]]\nservice = "smtp"\naddress = "127.0.0.1:0"\n\n[limits]\nmax_connections_per_ip = 500\n'
                       '\n[smtp.rate_limit]\nip_messages_per_minute = 0\nip_recipients_per_minute = 0\n'
                       '\n[dns]\nlocal_only = true\nlocal_data = ["remote.test. MX 10 mx.remote.test.", '
                       '"mx.remote.test. A 127.0.0.1"]\n[delivery]\nmx_port = %d\n[dkim]\nsign = %s\n'
                       % (sink_port, "true" if sign else "false"), tls=False)
    # internal_networks lives in [server]: patch the generated file.
    text = open(d.config).read().replace('data_dir = "data"\n', 'data_dir = "data"\ninternal_networks = ["127.0.0.0/8"]\n', 1)
    open(d.config, "w").write(text)
    for args in (("domain", "add", "example.test"),):
        r = ternlib.ternctl(d.config, *args)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
    r = ternlib.ternctl(d.config, "dkim", "keygen", "example.test")
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    d.start()
    spool = os.path.join(d.tmp, "data", "queue")
    try:
        t0 = time.perf_counter()
        source(d.port("smtp"), messages, sessions)
        left = wait_empty(lambda: len(glob.glob(os.path.join(spool, "**", "*.env"), recursive=True)))
        return time.perf_counter() - t0, left
    finally:
        d.stop()


def bench_postfix(messages, sessions, sink_port):
    with PostfixPeer(relayhost="[127.0.0.1]:%d" % sink_port,
                     extra_main="smtp_tls_security_level = none\nsmtpd_client_connection_count_limit = 0\n") as pf:
        t0 = time.perf_counter()
        source(pf.port, messages, sessions)

        def queued():
            return sum(len(files) for sub in ("incoming", "active", "deferred", "maildrop")
                       for _, _, files in os.walk(os.path.join(pf.spool, sub)))
        time.sleep(0.5)
        left = wait_empty(queued)
        return time.perf_counter() - t0, left


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "..", "build"))
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--sessions", type=int, default=50)
    a = ap.parse_args()
    if os.getuid() != 0:
        sys.exit("relay: run as root")
    port = free_port()
    s = sink(port)
    time.sleep(0.3)
    try:
        print("relay: %d messages of 2 KB, %d sessions in, smtp-sink as the remote MX" % (a.messages, a.sessions))
        rows = []
        for name, fn in (("tern-maild, DKIM rsa-2048", lambda: bench_tern(os.path.abspath(a.build), a.messages, a.sessions, True, port)),
                         ("tern-maild, no DKIM", lambda: bench_tern(os.path.abspath(a.build), a.messages, a.sessions, False, port)),
                         ("postfix, no DKIM", lambda: bench_postfix(a.messages, a.sessions, port))):
            t, left = fn()
            rows.append((name, a.messages / t))
            print("%-28s %8.0f msgs/s%s" % (name, a.messages / t, "" if not left else "  (%d still queued at timeout)" % left))
        print("ratio tern+DKIM / postfix without DKIM: %.2fx; vs the issue's Postfix+OpenDKIM reference (110 msg/s): %.1fx"
              % (rows[0][1] / rows[2][1], rows[0][1] / 110.0))
    finally:
        s.terminate()


if __name__ == "__main__":
    main()
