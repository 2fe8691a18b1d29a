#!/usr/bin/python3
"""A small SMTP server for SmtpTransport tests: STARTTLS, AUTH PLAIN/LOGIN with one account, REQUIRETLS,
per-recipient answers by local part (reject* -> 550 5.1.1, defer* -> 451 4.2.0, else 250). Each message is
written to DUMP/NNN.eml with a DUMP/NNN.json envelope (tls, auth user, mail from, rcpts).
Prints the listening port on stdout, then serves until killed."""
import argparse, base64, json, os, socketserver, ssl, sys, threading

ap = argparse.ArgumentParser()
ap.add_argument("--cert"); ap.add_argument("--key")
ap.add_argument("--auth", help="user:password; when set, MAIL needs AUTH")
ap.add_argument("--dump", required=True)
ap.add_argument("--greeting", default="220 peer.test ESMTP test peer")
ap.add_argument("--implicit", action="store_true", help="TLS from the first byte (port 465 style)")
ap.add_argument("--bind", default="127.0.0.1")
args = ap.parse_args()
counter = [0]
lock = threading.Lock()


class Handler(socketserver.StreamRequestHandler):
    def send(self, line):
        self.wfile.write((line + "\r\n").encode()); self.wfile.flush()

    def readline(self):
        l = self.rfile.readline(10000)
        if not l:
            raise EOFError
        return l.decode("utf-8", "replace").rstrip("\r\n")

    def starttls(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        self.request = ctx.wrap_socket(self.request, server_side=True)
        self.rfile = self.request.makefile("rb"); self.wfile = self.request.makefile("wb")
        self.tls = True

    def handle(self):
        self.tls = False; user = None; mail = None; rcpts = []
        if args.implicit:
            try:
                self.starttls()
            except (ssl.SSLError, OSError):
                return
        self.send(args.greeting)
        if not args.greeting.startswith("220"):
            return
        try:
            while True:
                line = self.readline(); cmd = line.split(" ")[0].upper()
                if cmd in ("EHLO", "LHLO"):
                    caps = ["peer.test", "8BITMIME", "ENHANCEDSTATUSCODES", "SIZE 10000000", "DSN"]
                    if args.cert and not self.tls: caps.append("STARTTLS")
                    if self.tls: caps.append("REQUIRETLS")
                    if args.auth: caps.append("AUTH PLAIN LOGIN")
                    for c in caps[:-1]: self.send("250-" + c)
                    self.send("250 " + caps[-1])
                elif cmd == "HELO": self.send("250 peer.test")
                elif cmd == "STARTTLS":
                    self.send("220 2.0.0 go ahead"); self.starttls()
                elif cmd == "AUTH":
                    parts = line.split(" ")
                    mech = parts[1].upper()
                    if mech == "PLAIN":
                        resp = parts[2] if len(parts) > 2 else (self.send("334 "), self.readline())[1]
                        _, u, p = base64.b64decode(resp).decode().split("\0")
                    else:
                        self.send("334 VXNlcm5hbWU6"); u = base64.b64decode(self.readline()).decode()
                        self.send("334 UGFzc3dvcmQ6"); p = base64.b64decode(self.readline()).decode()
                    if args.auth and f"{u}:{p}" == args.auth:
                        user = u; self.send("235 2.7.0 Authentication successful")
                    else:
                        self.send("535 5.7.8 Authentication credentials invalid")
                elif cmd == "MAIL":
                    if args.auth and not user: self.send("530 5.7.0 Authentication required"); continue
                    mail = line[10:]; rcpts = []; self.send("250 2.1.0 Ok")
                elif cmd == "RCPT":
                    addr = line[8:].split(">")[0].lstrip("<")
                    if addr.startswith("reject"): self.send("550 5.1.1 No such user here")
                    elif addr.startswith("defer"): self.send("451 4.2.0 Mailbox busy, try later")
                    else: rcpts.append(addr); self.send("250 2.1.5 Ok")
                elif cmd == "DATA":
                    if not rcpts: self.send("554 5.5.1 No valid recipients"); continue
                    self.send("354 End data with <CR><LF>.<CR><LF>")
                    body = []
                    while True:
                        l = self.rfile.readline(100000)
                        if not l: raise EOFError
                        if l == b".\r\n": break
                        body.append(l[1:] if l.startswith(b".") else l)
                    with lock:
                        counter[0] += 1; n = counter[0]
                    with open(os.path.join(args.dump, "%03d.eml" % n), "wb") as f: f.write(b"".join(body))
                    with open(os.path.join(args.dump, "%03d.json" % n), "w") as f:
                        json.dump({"tls": self.tls, "user": user, "mail": mail, "rcpts": rcpts}, f)
                    self.send("250 2.0.0 Ok: queued as %d" % n)
                elif cmd == "RSET": mail = None; rcpts = []; self.send("250 2.0.0 Ok")
                elif cmd == "NOOP": self.send("250 2.0.0 Ok")
                elif cmd == "QUIT": self.send("221 2.0.0 Bye"); return
                else: self.send("502 5.5.2 Command not recognized")
        except (EOFError, ConnectionError, ssl.SSLError):
            return


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


srv = Server((args.bind, 0), Handler)
print(srv.server_address[1], flush=True)
srv.serve_forever()
