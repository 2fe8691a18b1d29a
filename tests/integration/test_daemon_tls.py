"""The real tern-maild on loopback: TLS versions, SNI, SIGHUP certificate reload, connection limits and the
SIGTERM drain, driven by Python's ssl/smtplib (an independent TLS and SMTP client)."""
import os
import signal
import socket
import ssl
import subprocess
import time

from ternlib import Daemon, binary, check, make_cert, run_tests, ternctl

LISTEN = """
[[listen]]
service = "smtp"
address = "127.0.0.1:0"

[[listen]]
service = "submissions"
address = "127.0.0.1:0"
"""


def client_ctx(min_v=None, max_v=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("ALL:@SECLEVEL=0")  # let the client offer old versions; the server must refuse them
    if min_v:
        ctx.minimum_version = min_v
    if max_v:
        ctx.maximum_version = max_v
    return ctx


def tls_connect(port, ctx, sni=None):
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname=sni)


def der(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def read_line(sock):
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data.decode()


def test_tls10_and_tls11_refused_tls12_and_tls13_accepted():
    with Daemon(LISTEN) as d:
        port = d.port("submissions")
        for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            try:
                s = tls_connect(port, client_ctx(ssl.TLSVersion.TLSv1, version))
                s.close()
                raise AssertionError("%s handshake succeeded; it must be refused" % version.name)
            except (ssl.SSLError, ConnectionResetError):
                pass
        for version, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
            s = tls_connect(port, client_ctx(version, version))
            check(s.version() == name, "negotiated %s, wanted %s" % (s.version(), name))
            banner = read_line(s)
            check(banner.startswith("220 "), "no SMTP greeting over %s: %r" % (name, banner))
            s.close()
        # STARTTLS on the plain port obeys the same floor.
        import smtplib
        c = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=10)
        c.ehlo("client.test")
        try:
            c.starttls(context=client_ctx(ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1))
            raise AssertionError("STARTTLS with TLS 1.1 succeeded")
        except (ssl.SSLError, smtplib.SMTPServerDisconnected, ConnectionResetError):
            pass
        c = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=10)
        c.ehlo("client.test")
        c.starttls(context=client_ctx(ssl.TLSVersion.TLSv1_2))
        check(c.sock.version() in ("TLSv1.2", "TLSv1.3"), c.sock.version())
        c.quit()


def test_sni_selects_the_certificate():
    d = Daemon(LISTEN)
    other_cert, other_key = make_cert(d.tmp, "mail.other.test", "other")
    with open(d.config, "a") as f:
        f.write('\n[[tls.sni]]\nnames = ["mail.other.test", "*.other.test"]\ncert = "other.pem"\nkey = "other.key"\n')
    # [[tls.sni]] must follow [tls]; rewrite the file so the table order is valid TOML.
    text = open(d.config).read()
    head, sni = text.split("\n[[tls.sni]]", 1)
    tls_end = head.index("\n[[listen]]")
    with open(d.config, "w") as f:
        f.write(head[:tls_end] + "\n[[tls.sni]]" + sni + head[tls_end:])
    with d:
        port = d.port("submissions")
        default = der(d.cert)
        other = der(other_cert)
        for sni, want in ((None, default), ("mail.other.test", other), ("imap.other.test", other),
                          ("mail.example.test", default), ("unknown.test", default)):
            s = tls_connect(port, client_ctx(), sni)
            got = s.getpeercert(binary_form=True)
            s.close()
            check(got == want, "SNI %r got the wrong certificate" % sni)


def test_sighup_reloads_certificates_for_new_connections():
    with Daemon(LISTEN) as d:
        port = d.port("submissions")
        before = tls_connect(port, client_ctx())
        check(before.getpeercert(True) == der(d.cert), "unexpected initial certificate")
        read_line(before)
        old = der(d.cert)
        r = subprocess.run([binary("ternctl"), "tls", "selfsigned", "--host", "renewed.example.test",
                            "--cert", d.cert, "--key", d.key], capture_output=True, text=True)
        check(r.returncode == 0, r.stderr)
        check(der(d.cert) != old, "the certificate file did not change")
        d.signal(signal.SIGHUP)
        d.wait_log(r"tls\.reloaded")
        after = tls_connect(port, client_ctx())
        check(after.getpeercert(True) == der(d.cert), "a new connection still got the old certificate")
        after.close()
        # The connection made before the reload is not dropped.
        before.sendall(b"NOOP\r\n")
        reply = read_line(before)
        check(reply.startswith("250"), "old connection broken after reload: %r" % reply)
        before.close()
        # A reload that fails keeps the old certificates and the server running.
        with open(d.key, "w") as f:
            f.write("not a key\n")
        d.signal(signal.SIGHUP)
        d.wait_log(r"tls\.reload_failed")
        s = tls_connect(port, client_ctx())
        check(s.getpeercert(True) == der(d.cert), "certificates changed after a failed reload")
        s.close()


def test_connection_limit_answers_with_a_clear_refusal():
    with Daemon(LISTEN + '\n[limits]\nmax_connections_per_ip = 2\n') as d:
        port = d.port("smtp")
        keep = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
        for s in keep:
            check(read_line(s).startswith("220 "), "no greeting")
        extra = socket.create_connection(("127.0.0.1", port), timeout=10)
        line = read_line(extra)
        check(line.startswith("421 4.7.0 ") and "Too many connections from your address" in line,
              "want a 421 4.7.0 refusal, got %r" % line)
        check(extra.recv(1) == b"", "the refused connection must be closed")
        d.wait_log(r"connection\.refused .*too many connections from this address")
        keep[0].sendall(b"QUIT\r\n")
        read_line(keep[0])
        keep[0].close()
        time.sleep(0.3)
        again = socket.create_connection(("127.0.0.1", port), timeout=10)
        check(read_line(again).startswith("220 "), "slot not released after QUIT")


def test_sigterm_drains_transactions_in_flight():
    d = Daemon(LISTEN + '\n[limits]\nshutdown_grace = "20s"\n')
    r = ternctl(d.config, "domain", "add", "example.test")
    check(r.returncode == 0, r.stderr)
    r = ternctl(d.config, "user", "add", "alice@example.test", stdin="pw-alice-123\n")
    check(r.returncode == 0, r.stderr)
    d.start()
    try:
        port = d.port("smtp")
        busy = socket.create_connection(("127.0.0.1", port), timeout=10)
        idle = socket.create_connection(("127.0.0.1", port), timeout=10)
        for s in (busy, idle):
            read_line(s)
            s.sendall(b"HELO client.test\r\n")
            check(read_line(s).startswith("250"), "HELO refused")
        for cmd, want in ((b"MAIL FROM:<bob@remote.test>\r\n", "250"), (b"RCPT TO:<alice@example.test>\r\n", "250"),
                          (b"DATA\r\n", "354")):
            busy.sendall(cmd)
            line = read_line(busy)
            check(line.startswith(want), "%r -> %r" % (cmd, line))
        busy.sendall(b"Subject: in flight\r\n\r\nfirst half\r\n")
        d.signal(signal.SIGTERM)
        line = read_line(idle)
        check(line.startswith("421 4.3.2"), "idle session not told about the shutdown: %r" % line)
        time.sleep(0.3)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            raise AssertionError("new connections still accepted while draining")
        except ConnectionRefusedError:
            pass
        busy.sendall(b"second half\r\n.\r\n")
        line = read_line(busy)
        check(line.startswith("250 2.0.0"), "message in flight not accepted during drain: %r" % line)
        line = read_line(busy)
        check(line.startswith("421 4.3.2"), "session not closed after its transaction: %r" % line)
        d.proc.wait(20)
        check(d.proc.returncode == 0, "exit code %s after SIGTERM" % d.proc.returncode)
        maildir = os.path.join(d.tmp, "data", "mail", "example.test", "alice", "new")
        files = os.listdir(maildir)
        check(len(files) == 1, "want the drained message stored, found %r" % files)
        check("second half" in open(os.path.join(maildir, files[0])).read(), "stored message incomplete")
    finally:
        d.stop()


run_tests([test_tls10_and_tls11_refused_tls12_and_tls13_accepted, test_sni_selects_the_certificate,
           test_sighup_reloads_certificates_for_new_connections, test_connection_limit_answers_with_a_clear_refusal,
           test_sigterm_drains_transactions_in_flight])
