"""What the SMTP integration tests share: a daemon with the four SMTP roles and a few accounts, a raw
socket client for what smtplib will not send, and reply assertions."""
import glob
import os
import socket
import ssl

from ternlib import Daemon, check, ternctl

LISTEN = "".join('\n[[listen]]\nservice = "%s"\naddress = "127.0.0.1:0"\n' % s
                 for s in ("smtp", "submission", "submissions", "lmtp"))
PW = "correct horse battery"


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def daemon(extra=""):
    d = Daemon(LISTEN + extra)
    for args, stdin in ((("domain", "add", "example.test"), None), (("domain", "add", "other.test"), None),
                        (("user", "add", "alice@example.test"), PW + "\n"),
                        (("user", "add", "bob@example.test"), PW + "\n"),
                        (("alias", "add", "sales@example.test", "alice@example.test"), None),
                        (("alias", "add", "team@example.test", "alice@example.test", "bob@example.test"), None)):
        r = ternctl(d.config, *args, stdin=stdin)
        check(r.returncode == 0, "ternctl %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
    return d.start()


def inbox(d, user, folder=""):
    path = os.path.join(d.tmp, "data", "mail", "example.test", user, folder, "new", "*")
    return [open(p).read() for p in sorted(glob.glob(path))]


class Raw:
    def __init__(self, port, tls=False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if tls:
            self.sock = ctx().wrap_socket(self.sock)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError("connection closed; buffered %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        lines = [self.line()]
        while len(lines[-1]) > 3 and lines[-1][3] == "-":
            lines.append(self.line())
        return lines

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def cmd(self, data):
        self.send(data + "\r\n")
        return self.reply()


def expect(lines, code, enhanced=None):
    check(lines[-1].startswith(str(code)), "want %s, got %r" % (code, lines))
    if enhanced:
        check(lines[-1][4:].startswith(enhanced), "want %s %s, got %r" % (code, enhanced, lines))
