#!/usr/bin/python3
"""IMAP benchmark: Tern's imap listener side by side with Dovecot on the same loopback, same client.

Not a test: figures only. Prints
  - logins/s (LOGIN + LOGOUT on fresh connections, several client processes),
  - FETCH of N envelopes (ms) on an N-message INBOX,
  - SEARCH over M messages (ms): a flag search and a header search, after a first SELECT,
  - memory per idle IDLE connection (RSS delta of the daemon over K idle connections; Dovecot's figure
    is the RSS of its imap processes, one per connection),
  - imaptest stress counts (10 clients x 10 s, logout=0) when an imaptest binary is given.

Both servers get the same Maildir: messages are written as files into new/ and each server indexes them
on first open. Dovecot needs root (it drops to "nobody") and /usr/sbin/dovecot.

  ./build/... ; sudo /usr/bin/python3 bench/imap/imap_bench.py --build build [--imaptest PATH]
      [--fetch 10000] [--search 100000] [--idle 5000] [--secs 10]
  Stress only, several Tern builds and Dovecot back to back in rotated rounds (same-run comparison on a
  shared machine):
  sudo /usr/bin/python3 bench/imap/imap_bench.py --imaptest PATH --stress-rounds 5 --builds OLD_BUILD,build
"""
import argparse
import imaplib
import multiprocessing
import os
import pwd
import re
import resource
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))

PW = "benchpw1"  # no spaces: Dovecot's static passdb args are space-separated
USER = "alice@example.test"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rss_kb(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def make_message(i):
    subject = "Benchmark message %d %s" % (i, "needle" if i % 1000 == 7 else "hay")
    body = ("Line %d of a plain text body that is long enough to look like mail.\r\n" % i) * 20
    return ("From: Sender %d <sender%d@remote.test>\r\nTo: Alice <alice@example.test>\r\nCc: bob@example.test\r\n"
            "Subject: %s\r\nDate: Mon, 23 Nov 2026 10:%02d:%02d +0000\r\nMessage-ID: <bench%d@remote.test>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n%s" % (i, i % 50, subject, (i // 60) % 60, i % 60, i, body))


def fill_maildir(path, count, owner=None):
    """Writes `count` messages into path/new (Maildir), as an MTA would; flags on every 10th (cur/)."""
    for d in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    now = int(time.time())
    for i in range(1, count + 1):
        data = make_message(i).encode()
        if i % 10 == 0:
            name = os.path.join(path, "cur", "%d.M%dP1.bench,S=%d:2,FS" % (now - count + i, i, len(data)))
        else:
            name = os.path.join(path, "new", "%d.M%dP1.bench,S=%d" % (now - count + i, i, len(data)))
        with open(name, "wb") as f:
            f.write(data)
    if owner:
        for root, dirs, files in os.walk(path):
            for n in dirs + files:
                os.chown(os.path.join(root, n), owner.pw_uid, owner.pw_gid)
        os.chown(path, owner.pw_uid, owner.pw_gid)


class Tern:
    name = "tern"

    def __init__(self, build):
        os.environ["TERN_BUILD_DIR"] = build
        from ternlib import Daemon, ternctl  # noqa: E402
        self.port = None
        listen = '\n[[listen]]\nservice = "imap"\naddress = "127.0.0.1:0"\n'
        self.d = Daemon(listen, program="tern-imapd", tls=False)
        # Loopback is an internal network here so LOGIN works without TLS, as for Dovecot (ssl = no).
        with open(self.d.config) as f:
            text = f.read()
        text = text.replace('data_dir = "data"\n', 'data_dir = "data"\ninternal_networks = ["127.0.0.0/8"]\n')
        with open(self.d.config, "w") as f:
            f.write(text + '\n[limits]\nmax_connections = 20000\nmax_connections_per_ip = 20000\n')
        for args, stdin in ((("domain", "add", "example.test"), None), (("user", "add", USER), PW + "\n")):
            r = ternctl(self.d.config, *args, stdin=stdin)
            if r.returncode != 0:
                raise RuntimeError(r.stdout + r.stderr)
        self.ternctl = ternctl

    def maildir(self):
        return os.path.join(self.d.tmp, "data", "mail", "example.test", "alice")

    def start(self):
        self.d.start()
        self.port = self.d.port("imap")

    def pids(self):
        return [self.d.proc.pid]

    def stop(self):
        self.d.stop()
        shutil.rmtree(self.d.tmp, ignore_errors=True)


class Dovecot:
    name = "dovecot"

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="tern-bench-dovecot-")
        os.chmod(self.tmp, 0o755)
        self.port = free_port()
        self.nobody = pwd.getpwnam("nobody")
        self.mail = os.path.join(self.tmp, "mail")
        for d in ("base", "state", "mail"):
            os.makedirs(os.path.join(self.tmp, d))
        os.chown(self.mail, self.nobody.pw_uid, self.nobody.pw_gid)
        self.conf = os.path.join(self.tmp, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(f"""protocols = imap
base_dir = {self.tmp}/base
state_dir = {self.tmp}/state
log_path = {self.tmp}/dovecot.log
ssl = no
disable_plaintext_auth = no
default_internal_user = nobody
default_login_user = nobody
first_valid_uid = {self.nobody.pw_uid}
mail_location = maildir:{self.mail}/%d/%n
default_process_limit = 20000
default_client_limit = 20000
passdb {{
  driver = static
  args = password={PW}
}}
userdb {{
  driver = static
  args = uid={self.nobody.pw_uid} gid={self.nobody.pw_gid} home={self.mail}/%d/%n allow_all_users=yes
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  process_min_avail = 4
  service_count = 0
}}
service imap {{
  process_limit = 20000
}}
protocol imap {{
  mail_max_userip_connections = 20000
}}
""")
        self.proc = None

    def maildir(self):
        return os.path.join(self.mail, "example.test", "alice")

    def start(self):
        self.proc = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", self.conf])
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("dovecot did not start")

    def pids(self):
        out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
        return [int(l.split()[0]) for l in out.splitlines()[1:] if self.tmp in l or re.search(r"dovecot/imap\b", l)]

    def imap_pids(self):
        out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
        return [int(l.split()[0]) for l in out.splitlines()[1:] if re.search(r"dovecot/imap( |$)", l)]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)
        shutil.rmtree(self.tmp, ignore_errors=True)


def login_worker(args):
    port, n = args
    for _ in range(n):
        c = imaplib.IMAP4("127.0.0.1", port, timeout=30)
        c.login(USER, PW)
        c.logout()
    return n


def bench_logins(port, procs=8, per=100):
    with multiprocessing.Pool(procs) as pool:
        t0 = time.time()
        done = sum(pool.map(login_worker, [(port, per)] * procs))
        return done / (time.time() - t0)


def read_tagged(sock, tag):
    buf = b""
    needle = b"\r\n" + tag + b" "
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise RuntimeError("connection closed")
        buf += chunk
        i = buf.rfind(needle)
        if i >= 0 and buf.endswith(b"\r\n") and buf.find(b"\r\n", i + 2) == len(buf) - 2:
            return buf


def raw_session(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=600)
    s.recv(4096)
    s.sendall(b'l LOGIN "%s" "%s"\r\n' % (USER.encode(), PW.encode()))
    read_tagged_start(s, b"l")
    return s


def read_tagged_start(sock, tag):
    """Reads up to the tagged completion. Only the last few KB are searched for it after each read (searching
    the whole response after each read made the client, not the server, the bottleneck of a FETCH of
    10,000 envelopes: quadratic in the response size)."""
    done = re.compile(rb"\r\n" + re.escape(tag) + rb" (OK|NO|BAD)[^\r\n]*\r\n$")
    chunks, tail = [], b"\r\n"  # the tail starts with CRLF: a completion may be the first line
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise RuntimeError("connection closed: %r" % (b"".join(chunks)[-200:]))
        chunks.append(chunk)
        tail = (tail + chunk)[-8192:]
        if tail.endswith(b"\r\n") and done.search(tail):
            return b"".join(chunks)


def timed(sock, command, tag=b"t"):
    t0 = time.time()
    sock.sendall(tag + b" " + command + b"\r\n")
    out = read_tagged_start(sock, tag)
    return (time.time() - t0) * 1000, out


def bench_fetch_search(server, count, label):
    s = raw_session(server.port)
    ms_select, out = timed(s, b"SELECT INBOX", b"s")
    if (b"* %d EXISTS" % count) not in out:
        raise RuntimeError("%s: SELECT did not see %d messages: %r" % (server.name, count, out[:300]))
    res = {"select_ms": ms_select}
    if label == "fetch":
        ms, out = timed(s, b"FETCH 1:* (ENVELOPE)", b"f")
        res["fetch_envelope_ms"] = ms
        if out.count(b" FETCH (") != count:
            raise RuntimeError("%s: FETCH returned %d envelopes" % (server.name, out.count(b" FETCH (")))
        ms, out = timed(s, b"FETCH 1:* (ENVELOPE)", b"g")
        res["fetch_envelope_warm_ms"] = ms
    else:
        ms, out = timed(s, b"SEARCH FLAGGED", b"a")
        res["search_flag_ms"] = ms
        ms, out = timed(s, b"SEARCH SUBJECT needle", b"b")
        res["search_subject_ms"] = ms
        hits = len(out.split(b"* SEARCH")[1].split(b"\r\n")[0].split())
        res["search_subject_hits"] = hits
        ms, out = timed(s, b"SEARCH SUBJECT needle", b"c")
        res["search_subject_warm_ms"] = ms
    s.sendall(b"z LOGOUT\r\n")
    s.close()
    return res


def bench_idle(server, n, pids):
    sel = selectors.DefaultSelector()
    socks = []
    before = rss_kb(pids())
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n * 2 + 100)), hard))
    batch = 100
    for start in range(0, n, batch):
        group = []
        for _ in range(min(batch, n - start)):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=120)
            group.append(s)
        for s in group:
            s.recv(4096)
            s.sendall(b'l LOGIN "%s" "%s"\r\ns SELECT INBOX\r\ni IDLE\r\n' % (USER.encode(), PW.encode()))
        for s in group:
            buf = b""
            while b"+ " not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    raise RuntimeError("closed during IDLE setup")
                buf += chunk
        socks += group
    time.sleep(2)
    after = rss_kb(pids())
    for s in socks:
        s.close()
    return (after - before) / n


def imaptest(binary, port, secs, mbox):
    env = dict(os.environ, LD_LIBRARY_PATH="/usr/lib/dovecot")
    r = subprocess.run([binary, "host=127.0.0.1", "port=%d" % port, "user=" + USER, "pass=" + PW, "mbox=" + mbox,
                        "clients=10", "secs=%d" % secs, "logout=0", "no_pipelining"], capture_output=True, text=True,
                       env=env, timeout=secs + 120)
    lines = r.stdout.splitlines()
    # "Totals:", the header of command names, two lines of percentages, then the counts.
    head, totals = None, None
    if "Totals:" in lines:
        rest = lines[lines.index("Totals:") + 1:]
        if rest and rest[0].startswith("Logi"):
            head = rest[0].split()
            for l in rest[1:]:
                if l.split() and all(x.isdigit() for x in l.split()):
                    totals = l.split()
    if not head or not totals:
        return None, r.stdout[-2000:] + r.stderr[-2000:]
    return dict(zip(head, [int(x) for x in totals[:len(head)]])), None


def stress_rounds(a):
    """imaptest stress only, on an a.fetch-message INBOX (indexed before the run: `store reindex` for Tern, a
    SELECT for Dovecot), each build and Dovecot one after the other in every round, order rotated, so that
    the load other programs put on the machine falls on all of them alike."""
    import statistics
    import ternlib  # noqa: E402 (tests/integration is on the path)
    builds = [os.path.abspath(b) for b in (a.builds.split(",") if a.builds else [a.build])]
    kinds = [("tern " + b, b) for b in builds] + [("dovecot", None)]
    mbox = os.path.join(tempfile.mkdtemp(), "bench.mbox")
    with open(mbox, "w") as f:
        for i in range(200):
            f.write("From sender@remote.test Mon Nov 23 10:00:00 2026\n")
            f.write(make_message(i).replace("\r\n", "\n") + "\n")
    totals = {k: [] for k, _ in kinds}
    for r in range(a.stress_rounds):
        for label, build in kinds[r % len(kinds):] + kinds[:r % len(kinds)]:
            if build:
                ternlib.BUILD = build  # ternlib reads TERN_BUILD_DIR once; each build here has its own binaries
                srv = Tern(build)
            else:
                srv = Dovecot()
            fill_maildir(srv.maildir(), a.fetch, getattr(srv, "nobody", None))
            if build:
                srv.ternctl(srv.d.config, "store", "reindex", USER)
            srv.start()
            try:
                s = raw_session(srv.port)
                timed(s, b"SELECT INBOX", b"s")
                s.close()
                load = open("/proc/loadavg").read().split()[0]
                counts, err = imaptest(a.imaptest, srv.port, a.secs, mbox)
            finally:
                srv.stop()
            total = sum(v for n, v in (counts or {}).items() if n not in ("Logi", "Sele"))
            totals[label].append(total)
            print("round %d %-40s %7d operations (load %s) %s" % (r + 1, label, total, load, counts or err), flush=True)
    print()
    for label, v in totals.items():
        print("%-40s median %7d  range %d-%d" % (label, statistics.median(v), min(v), max(v)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "..", "build"))
    ap.add_argument("--fetch", type=int, default=10000)
    ap.add_argument("--search", type=int, default=100000)
    ap.add_argument("--idle", type=int, default=5000)
    ap.add_argument("--secs", type=int, default=10)
    ap.add_argument("--imaptest", default="")
    ap.add_argument("--only", default="tern,dovecot")
    ap.add_argument("--stress-rounds", type=int, default=0,
                    help="only imaptest stress: N rounds of every build in --builds and Dovecot back to back")
    ap.add_argument("--builds", default="", help="with --stress-rounds: comma-separated Tern build directories")
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)
    if a.stress_rounds:
        if not a.imaptest:
            ap.error("--stress-rounds needs --imaptest")
        stress_rounds(a)
        return
    rows = {}
    for kind in a.only.split(","):
        make = (lambda: Tern(a.build)) if kind == "tern" else Dovecot
        figures = {}
        # 1. logins/s and FETCH of envelopes on an a.fetch-message INBOX.
        srv = make()
        owner = getattr(srv, "nobody", None)
        fill_maildir(srv.maildir(), a.fetch, owner)
        if kind == "tern":
            srv.ternctl(srv.d.config, "store", "reindex", USER)
        srv.start()
        try:
            figures["logins_per_s"] = bench_logins(srv.port)
            figures.update(bench_fetch_search(srv, a.fetch, "fetch"))
            if a.idle:
                pids = srv.pids if kind == "tern" else srv.imap_pids
                try:
                    figures["idle_kb_per_conn"] = bench_idle(srv, a.idle, pids)
                except (OSError, RuntimeError) as e:
                    figures["idle_error"] = str(e)
            if a.imaptest:
                mbox = os.path.join(tempfile.mkdtemp(), "bench.mbox")
                with open(mbox, "w") as f:
                    for i in range(200):
                        f.write("From sender@remote.test Mon Nov 23 10:00:00 2026\n")
                        f.write(make_message(i).replace("\r\n", "\n") + "\n")
                counts, err = imaptest(a.imaptest, srv.port, a.secs, mbox)
                figures["imaptest"] = counts if counts else err
        finally:
            srv.stop()
        # 2. SEARCH over a.search messages (a fresh server, so the first SELECT indexes them).
        if a.search:
            srv = make()
            fill_maildir(srv.maildir(), a.search, getattr(srv, "nobody", None))
            srv.start()
            try:
                figures.update({("search_" + k if k == "select_ms" else k): v for k, v in bench_fetch_search(srv, a.search, "search").items()})
            finally:
                srv.stop()
        rows[kind] = figures
        print(kind, figures, flush=True)
    print()
    keys = ["logins_per_s", "select_ms", "search_select_ms", "fetch_envelope_ms", "fetch_envelope_warm_ms", "search_flag_ms",
            "search_subject_ms", "search_subject_warm_ms", "idle_kb_per_conn"]
    print("%-26s %14s %14s %10s" % ("figure", "tern", "dovecot", "ratio"))
    for k in keys:
        t, d = rows.get("tern", {}).get(k), rows.get("dovecot", {}).get(k)
        ratio = ""
        if isinstance(t, (int, float)) and isinstance(d, (int, float)) and t and d:
            ratio = "%.2fx" % ((t / d) if k == "logins_per_s" else (d / t))
        fmt = lambda v: ("%.1f" % v) if isinstance(v, (int, float)) else "-"
        print("%-26s %14s %14s %10s" % (k, fmt(t), fmt(d), ratio))
    if "imaptest" in rows.get("tern", {}) or "imaptest" in rows.get("dovecot", {}):
        print("\nimaptest 10 clients x %ds, logout=0 (operations; higher is better)" % a.secs)
        t, d = rows.get("tern", {}).get("imaptest"), rows.get("dovecot", {}).get("imaptest")
        names = sorted(set((t or {}).keys() if isinstance(t, dict) else []) |
                       set((d or {}).keys() if isinstance(d, dict) else []))
        for n in names:
            tv = t.get(n) if isinstance(t, dict) else None
            dv = d.get(n) if isinstance(d, dict) else None
            ratio = "%.2fx" % (tv / dv) if tv and dv else ""
            print("%-8s %10s %10s %8s" % (n, tv, dv, ratio))
        for label, v in (("tern", t), ("dovecot", d)):
            if isinstance(v, str):
                print("imaptest against %s failed:\n%s" % (label, v))
    print("(ratio: how many times better Tern is; >1 means Tern is faster / smaller)")


if __name__ == "__main__":
    main()
