#!/usr/bin/python3
"""bench/smtp/relay.py — outbound relay throughput (issue 7): Postfix's smtp-source submits 2 KB messages
(50 sessions) from an internal network; the server queues each one durably and delivers it to an smtp-sink
"remote MX" over persistent connections. Measured from the first message in to the last one handed to the
sink (the spool is empty again), for:

  1. tern-maild with DKIM RSA-2048 signing on, and off (default configuration);
  2. tern-maild with signing and another [server] worker_threads (--tuned-workers, 4 by default; the
     default is 32): since the SMTP session awaits the queue's group commit without holding a worker, the
     workers only sign and write, and on 2 cores a few of them cost less CPU than many;
  2b. with --baseline-build, the tern-maild of another build (e.g. the previous commit), signing on;
  3. Postfix + OpenDKIM milter (Mode s, RSA-2048 key), relayhost = the same sink;
  4. Postfix alone.

Before each timed run one probe message goes to a second sink that keeps what it receives, and the probe
must (not) carry a DKIM-Signature: a side that silently stopped signing cannot win the table.

Each round also prints the CPU time the server spent per message (user + system; tern-maild's process,
or Postfix's master with every service it runs plus OpenDKIM), the CPU the load generators spent (smtp-source
and the smtp-sink) and the load average: on a shared machine the rate moves with the neighbours, the CPU per
message much less.

The end of the table says what the machine allows: with every core busy, a server that did nothing but one
RSA-2048 signature per message (the cost `openssl speed` measures here) next to the same load generators
could not pass cores / (sign + generators) messages a second; the line shows that ceiling next to 10x
Postfix + OpenDKIM, and how much CPU per message the goal leaves for everything else (two SMTP transactions
and a durable spool).

Not a test: figures only. Needs root (Postfix, OpenDKIM). The machine is shared: each side runs --rounds
times, interleaved, and the table shows the median and the range.

    bench/smtp/relay.py [--messages 3000] [--rounds 3] [--build build] [--baseline-build OTHER_BUILD]
"""
import argparse
import glob
import os
import resource
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))

import ternlib  # noqa: E402
from postfix_peer import PostfixPeer, free_port  # noqa: E402

PROBE = "probe@probe.test"


def sink(port, dump_dir=None):
    args = ["/usr/sbin/smtp-sink", "-u", "nobody"]
    if dump_dir:
        args += ["-d", os.path.join(dump_dir, "%H%M%S.")]  # one file per message (smtp-sink(1))
    proc = subprocess.Popen(args + ["127.0.0.1:%d" % port, "256"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    proc.port = port
    return proc


def source(port, messages, sessions, sink_proc):
    """Runs smtp-source to the end; returns the CPU seconds it and the sink spent meanwhile."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    sink0 = proc_cpu(sink_proc.pid)
    r = subprocess.run(["/usr/sbin/smtp-source", "-d", "-c", "-s", str(sessions), "-l", "2048", "-m", str(messages),
                        "-f", "app@example.test", "-t", "someone@remote.test", "-M", "app.example.test",
                        "127.0.0.1:%d" % port], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("smtp-source: " + r.stderr[-2000:])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) + proc_cpu(sink_proc.pid) - sink0


def rsa_signs_per_second():
    """RSA-2048 signatures a second on one core, as `openssl speed` measures them (machine-readable form)."""
    r = subprocess.run(["openssl", "speed", "-mr", "-seconds", "3", "rsa2048"], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        if line.startswith("+F2:"):  # +F2:<n>:<bits>:<sign/s>:<verify/s>
            return float(line.split(":")[3])
    raise RuntimeError("openssl speed rsa2048 printed no result")


TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid, children=False):
    """CPU seconds (user + system) of a process; with children=True also of its reaped children."""
    try:
        f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    t = int(f[11]) + int(f[12]) + ((int(f[13]) + int(f[14])) if children else 0)  # utime stime cutime cstime
    return t / TICK


def tree_cpu(root):
    """CPU seconds of `root` (and its reaped children) plus of its live children: a Postfix master's
    services (smtpd, cleanup, qmgr, smtp, ...) are either alive or reaped by it."""
    total = proc_cpu(root, children=True)
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(open("/proc/%s/stat" % d).read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == root:
                total += proc_cpu(int(d))
    return total


def wait_empty(count, timeout=300):
    deadline = time.time() + timeout
    while count() > 0 and time.time() < deadline:
        time.sleep(0.02)
    return count()


class ProbeSink:
    """A second smtp-sink that keeps every message, for the one probe message before each timed run."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tern-relay-probe-")
        shutil.chown(self.dir, "nobody")
        self.port = free_port()
        self.proc = sink(self.port, self.dir)
        time.sleep(0.2)

    def check(self, smtp_port, signed, what):
        for f in glob.glob(os.path.join(self.dir, "*")):
            os.unlink(f)
        with smtplib.SMTP("127.0.0.1", smtp_port, local_hostname="app.example.test") as c:
            c.sendmail("app@example.test", [PROBE],
                       "From: App <app@example.test>\r\nTo: <%s>\r\nSubject: probe\r\nMessage-ID: <probe@example.test>\r\n"
                       "\r\nprobe\r\n" % PROBE)
        deadline = time.time() + 30
        while time.time() < deadline:
            files = glob.glob(os.path.join(self.dir, "*"))
            if files:
                time.sleep(0.1)
                text = open(files[0], "rb").read().decode("latin-1")
                has = "\nDKIM-Signature:" in text.replace("\r\n", "\n")
                if has != signed:
                    raise RuntimeError("%s: the probe message %s a DKIM-Signature" % (what, "has" if has else "lacks"))
                return
            time.sleep(0.05)
        raise RuntimeError("%s: the probe message never reached the probe sink" % what)

    def close(self):
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def bench_tern(build, messages, sessions, sign, sink_proc, probe, extra_server="", extra_config=""):
    ternlib.BUILD = build
    d = ternlib.Daemon('[[listen]]\nservice = "smtp"\naddress = "127.0.0.1:0"\n\n[limits]\nmax_connections_per_ip = 500\n'
                       '\n[smtp.rate_limit]\nip_messages_per_minute = 0\nip_recipients_per_minute = 0\n'
                       '\n[dns]\nlocal_only = true\nlocal_data = ["remote.test. MX 10 mx.remote.test.", '
                       '"mx.remote.test. A 127.0.0.1"]\n[delivery]\nmx_port = %d\n[transport]\n"probe.test" = "smtp:127.0.0.1:%d"\n'
                       '[dkim]\nsign = %s\n' % (sink_proc.port, probe.port, "true" if sign else "false") + extra_config, tls=False)
    # internal_networks lives in [server]: patch the generated file.
    text = open(d.config).read().replace('data_dir = "data"\n',
                                         'data_dir = "data"\ninternal_networks = ["127.0.0.0/8"]\n' + extra_server, 1)
    open(d.config, "w").write(text)
    for args in (("domain", "add", "example.test"), ("dkim", "keygen", "example.test")):  # keygen: RSA-2048
        r = ternlib.ternctl(d.config, *args)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
    d.start()
    spool = os.path.join(d.tmp, "data", "queue")

    def queued():  # <id>.qf (one file per message) or, in builds before it, <id>.env (+ <id>.msg)
        return len(glob.glob(os.path.join(spool, "*.qf"))) + len(glob.glob(os.path.join(spool, "*.env")))
    try:
        probe.check(d.port("smtp"), sign, "tern-maild")
        wait_empty(queued, 30)
        c0 = proc_cpu(d.proc.pid)
        t0 = time.perf_counter()
        gen = source(d.port("smtp"), messages, sessions, sink_proc)
        left = wait_empty(queued)
        return time.perf_counter() - t0, left, proc_cpu(d.proc.pid) - c0, gen
    finally:
        d.stop()


class OpenDkim:
    """OpenDKIM as a signing milter (Mode s) for example.test with a fresh RSA-2048 key."""

    def __init__(self):
        # OpenDKIM refuses a configuration under a directory others can write (/tmp): keep it under /run.
        self.tmp = tempfile.mkdtemp(prefix="tern-opendkim-", dir="/run")
        self.port = free_port()
        r = subprocess.run(["opendkim-genkey", "-b", "2048", "-d", "example.test", "-s", "bench", "-D", self.tmp],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("opendkim-genkey: " + r.stderr)
        key = os.path.join(self.tmp, "bench.private")
        os.chmod(key, 0o600)
        self.conf = os.path.join(self.tmp, "opendkim.conf")
        with open(self.conf, "w") as f:
            f.write("Mode s\nDomain example.test\nSelector bench\nKeyFile %s\nCanonicalization relaxed/relaxed\n"
                    "SignatureAlgorithm rsa-sha256\nInternalHosts 127.0.0.0/8\nSocket inet:%d@127.0.0.1\n"
                    "PidFile %s/opendkim.pid\nSyslog no\nUMask 007\nRequireSafeKeys yes\n" % (key, self.port, self.tmp))
        self.proc = subprocess.Popen(["/usr/sbin/opendkim", "-f", "-x", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("opendkim exited: " + self.proc.stderr.read())
                time.sleep(0.1)
        raise RuntimeError("opendkim did not listen on %d" % self.port)

    def close(self):
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def bench_postfix(messages, sessions, sink_proc, probe, dkim):
    extra = "smtp_tls_security_level = none\nsmtpd_client_connection_count_limit = 0\n"
    milter = OpenDkim() if dkim else None
    if milter:
        extra += "smtpd_milters = inet:127.0.0.1:%d\nmilter_default_action = tempfail\n" % milter.port
    try:
        with PostfixPeer(relayhost="[127.0.0.1]:%d" % sink_proc.port, transport={"probe.test": "smtp:[127.0.0.1]:%d" % probe.port},
                         extra_main=extra) as pf:
            def queued():
                return sum(len(files) for sub in ("incoming", "active", "deferred", "maildrop", "hold")
                           for _, _, files in os.walk(os.path.join(pf.spool, sub)))
            probe.check(pf.port, dkim, "postfix" + (" + opendkim" if dkim else ""))
            wait_empty(queued, 30)
            master = int(open(os.path.join(pf.spool, "pid", "master.pid")).read().split()[0])

            def cpu():
                return tree_cpu(master) + (proc_cpu(milter.proc.pid) if milter else 0.0)
            c0 = cpu()
            t0 = time.perf_counter()
            gen = source(pf.port, messages, sessions, sink_proc)
            left = wait_empty(queued)
            return time.perf_counter() - t0, left, cpu() - c0, gen
    finally:
        if milter:
            milter.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "..", "build"))
    ap.add_argument("--messages", type=int, default=3000)
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tern-server", default="", help="extra [server] lines for tern-maild, e.g. 'io_threads = 2'")
    ap.add_argument("--tuned-workers", type=int, default=4, help="worker_threads of the tuned tern row (0: no such row)")
    ap.add_argument("--baseline-build", default="",
                    help="another build dir (e.g. of the previous commit): its tern-maild, signing on, is one more row")
    a = ap.parse_args()
    if os.getuid() != 0:
        sys.exit("relay: run as root")
    build = os.path.abspath(a.build)
    extra = a.tern_server.replace("\\n", "\n")
    if extra and not extra.endswith("\n"):
        extra += "\n"
    s = sink(free_port())
    probe = ProbeSink()
    time.sleep(0.3)
    sides = [("tern-maild, DKIM rsa-2048", lambda: bench_tern(build, a.messages, a.sessions, True, s, probe, extra)),
             ("tern-maild, no DKIM", lambda: bench_tern(build, a.messages, a.sessions, False, s, probe, extra)),
             ("tern-maild, DKIM, %d workers" % a.tuned_workers,
              lambda: bench_tern(build, a.messages, a.sessions, True, s, probe,
                                 extra + "worker_threads = %d\n" % a.tuned_workers)),
             ("postfix + opendkim rsa-2048", lambda: bench_postfix(a.messages, a.sessions, s, probe, True)),
             ("postfix, no DKIM", lambda: bench_postfix(a.messages, a.sessions, s, probe, False))]
    if a.tuned_workers <= 0:
        del sides[2]
    if a.baseline_build:
        base = os.path.abspath(a.baseline_build)
        sides.insert(1, ("baseline build, DKIM rsa-2048",
                         lambda: bench_tern(base, a.messages, a.sessions, True, s, probe, extra)))
    rates = {name: [] for name, _ in sides}
    cpus = {name: [] for name, _ in sides}
    gens = {name: [] for name, _ in sides}
    try:
        print("relay: %d messages of 2 KB, %d sessions in, smtp-sink as the remote MX, %d rounds%s"
              % (a.messages, a.sessions, a.rounds, (" (tern [server] " + extra.strip() + ")") if extra else ""))
        for r in range(a.rounds):
            for name, fn in sides:  # interleaved, so a noisy neighbour hurts every side alike
                t, left, cpu, gen = fn()
                done = max(1, a.messages - left)
                rate = (a.messages - left) / t
                rates[name].append(rate)
                cpus[name].append(cpu * 1000 / done)
                gens[name].append(gen * 1000 / done)
                print("  round %d  %-28s %7.0f msgs/s  %5.2f ms CPU/msg  generators %4.2f ms/msg  load %s%s"
                      % (r + 1, name, rate, cpus[name][-1], gens[name][-1],
                         " ".join(open("/proc/loadavg").read().split()[:3]),
                         "" if not left else "  (%d still queued at timeout)" % left), flush=True)
        print("\n| %-28s | %8s | %15s | %11s | %14s |" % ("side", "msgs/s", "range", "ms CPU/msg", "generators ms"))
        print("| %s | %s | %s | %s | %s |" % ("-" * 28, "-" * 8, "-" * 15, "-" * 11, "-" * 14))
        med = {}
        for name, _ in sides:
            med[name] = statistics.median(rates[name])
            print("| %-28s | %8.0f | %6.0f - %6.0f | %11.2f | %14.2f |"
                  % (name, med[name], min(rates[name]), max(rates[name]), statistics.median(cpus[name]),
                     statistics.median(gens[name])))
        pf_dkim = med["postfix + opendkim rsa-2048"]
        print("\nratio tern signed / postfix + opendkim: %.2fx (goal: 10x)" % (med[sides[0][0]] / pf_dkim))
        for name, _ in sides:
            if name.startswith(("baseline", "tern-maild, DKIM, ")):
                print("ratio %s / postfix + opendkim: %.2fx" % (name, med[name] / pf_dkim))
        # What the machine allows: every core busy, the generators' CPU as measured beside tern, one signature.
        cores = os.cpu_count() or 1
        sign_ms = 1000 / rsa_signs_per_second()
        gen_ms = statistics.median(gens[sides[0][0]])
        ceiling = cores * 1000 / (sign_ms + gen_ms)
        goal = 10 * pf_dkim
        left_ms = cores * 1000 / goal - sign_ms - gen_ms
        print("ceiling here: %d cores / (RSA-2048 signature %.2f ms + generators %.2f ms) = %.0f msgs/s for a server "
              "that only signs; 10x postfix + opendkim = %.0f msgs/s leaves %.2f ms CPU/msg for everything else "
              "(tern without DKIM uses %.2f)" % (cores, sign_ms, gen_ms, ceiling, goal, left_ms,
                                                statistics.median(cpus["tern-maild, no DKIM"])))
    finally:
        probe.close()
        s.terminate()


if __name__ == "__main__":
    main()
