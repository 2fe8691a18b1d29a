#!/usr/bin/python3
"""HTTPS server for MTA-STS tests: serves the file given by --policy at /.well-known/mta-sts.txt as
text/plain (re-read on each request), 404 elsewhere. Prints its port, then serves until killed."""
import argparse, http.server, ssl

ap = argparse.ArgumentParser()
ap.add_argument("--cert", required=True); ap.add_argument("--key", required=True); ap.add_argument("--policy", required=True)
args = ap.parse_args()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/.well-known/mta-sts.txt":
            self.send_error(404); return
        with open(args.policy, "rb") as f:
            body = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(args.cert, args.key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
