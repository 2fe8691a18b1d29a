"""Helpers for integration tests: start the real Tern daemons on ephemeral loopback ports and stop them.

Each test writes a tern.toml into a private temp dir with `address = "127.0.0.1:0"` listeners; the daemon
logs `listener.started service=X address=127.0.0.1:PORT` for each, which is how tests learn the ports.
"""
import atexit
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

BUILD = os.environ.get("TERN_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SHARED = os.environ.get("TERN_SHARED_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))


def binary(name):
    sub = "ternctl" if name == "ternctl" else ""
    return os.path.join(BUILD, "apps", sub, name)


class Failure(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def ternctl(config, *args, stdin=None):
    return subprocess.run([binary("ternctl"), "--config", config, *args], input=stdin, capture_output=True, text=True,
                          timeout=60)


def make_cert(directory, host, name):
    cert, key = os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".key")
    r = subprocess.run([binary("ternctl"), "tls", "selfsigned", "--host", host, "--cert", cert, "--key", key],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "ternctl tls selfsigned failed: " + r.stderr)
    return cert, key


# Work directories the Daemons made themselves: removed when the test program exits, unless a test failed
# (then kept for a look, and their paths are printed).
_own_dirs = []
_keep_dirs = [False]


def _remove_own_dirs():
    if _keep_dirs[0]:
        if _own_dirs:
            print("work directories kept: " + " ".join(_own_dirs))
        return
    for d in _own_dirs:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_remove_own_dirs)


class Daemon:
    """A running tern daemon. Use as a context manager; logs are kept in self.log_lines."""

    def __init__(self, config_body, program="tern-maild", tmp=None, hostname="mail.example.test", tls=True):
        if tmp is None:
            tmp = tempfile.mkdtemp(prefix="tern-it-")
            _own_dirs.append(tmp)
        self.tmp = tmp
        self.program = program
        self.config = os.path.join(self.tmp, "tern.toml")
        head = '[server]\nhostname = "%s"\ndata_dir = "data"\n' % hostname
        if tls:
            self.cert, self.key = make_cert(self.tmp, hostname, "cert")
            head += '\n[tls]\ncert = "cert.pem"\nkey = "cert.key"\n'
        with open(self.config, "w") as f:
            f.write(head + "\n" + config_body)
        self.proc = None
        self.log_lines = []
        self.ports = {}
        self._cv = threading.Condition()

    def start(self, timeout=20):
        self.proc = subprocess.Popen([binary(self.program), "--config", self.config], stderr=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, text=True, cwd=self.tmp)
        threading.Thread(target=self._pump, daemon=True).start()
        deadline = time.time() + timeout
        with self._cv:
            while not any("server.started" in l for l in self.log_lines):
                if self.proc.poll() is not None:
                    raise Failure("%s exited with %s:\n%s" % (self.program, self.proc.returncode, self.logs()))
                left = deadline - time.time()
                check(left > 0, "daemon did not start in time:\n" + self.logs())
                self._cv.wait(left)
        return self

    def _pump(self):
        for line in self.proc.stderr:
            line = line.rstrip("\n")
            m = re.search(r"listener\.started .*service=(\S+) address=(\S+)", line)
            with self._cv:
                if m:
                    self.ports.setdefault(m.group(1), []).append(int(m.group(2).rsplit(":", 1)[1]))
                self.log_lines.append(line)
                self._cv.notify_all()
        with self._cv:
            self._cv.notify_all()

    def port(self, service, index=0):
        return self.ports[service][index]

    def logs(self):
        with self._cv:
            return "\n".join(self.log_lines)

    def wait_log(self, pattern, timeout=10):
        deadline = time.time() + timeout
        rx = re.compile(pattern)
        with self._cv:
            while True:
                for l in self.log_lines:
                    if rx.search(l):
                        return l
                left = deadline - time.time()
                if left <= 0:
                    raise Failure("no log line matching %r in:\n%s" % (pattern, "\n".join(self.log_lines)))
                self._cv.wait(left)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Failure("daemon did not stop within %ss of SIGTERM" % timeout)
        return self.proc.returncode if self.proc else None

    def __enter__(self):
        return self if self.proc else self.start()

    def __exit__(self, *exc):
        rc = self.stop()
        if exc[0] is None:
            check(rc == 0, "daemon exited with %s:\n%s" % (rc, self.logs()))


def run_tests(tests):
    """Runs test functions, prints one line each, exits non-zero if any failed."""
    failed = 0
    for t in tests:
        t0 = time.time()
        try:
            t()
            print("ok   %s (%.2fs)" % (t.__name__, time.time() - t0))
        except Exception as e:  # noqa: BLE001 - report every failure, keep going
            failed += 1
            print("FAIL %s: %s: %s" % (t.__name__, type(e).__name__, e))
    print("%d passed, %d failed" % (len(tests) - failed, failed))
    _keep_dirs[0] = failed > 0
    sys.exit(1 if failed else 0)
