"""A throwaway Postfix instance on loopback, as a real, independently written SMTP peer for tests and
benchmarks: its own config directory, queue and log under a temp dir, an smtpd on an ephemeral port,
and routes given by the caller (relayhost or transport map). Needs root (Postfix's master drops
privileges to the `postfix` user) and the postfix package.

    with PostfixPeer(relayhost="[127.0.0.1]:2525") as pf:
        smtplib.SMTP("127.0.0.1", pf.port).sendmail(...)
        pf.wait_log(r"status=sent")
"""
import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

POSTFIX = "/usr/sbin/postfix"


def available():
    return os.path.exists(POSTFIX) and os.getuid() == 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class PostfixPeer:
    def __init__(self, relayhost="", transport=None, hostname="relay.remote.test", extra_main="", tls_cert=None,
                 mailbox_domains=()):
        self.tmp = tempfile.mkdtemp(prefix="tern-postfix-")
        os.chmod(self.tmp, 0o755)
        self.port = free_port()
        self.conf = os.path.join(self.tmp, "etc")
        self.spool = os.path.join(self.tmp, "spool")
        self.data = os.path.join(self.tmp, "data")
        self.log = os.path.join(self.tmp, "maillog")
        for d in (self.conf, self.spool, self.data):
            os.makedirs(d)
        shutil.chown(self.data, "postfix", "postfix")
        main = f"""compatibility_level = 3.6
config_directory = {self.conf}
queue_directory = {self.spool}
data_directory = {self.data}
maillog_file = {self.log}
maillog_file_prefixes = /tmp, /var, {self.tmp}
myhostname = {hostname}
mydestination =
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
relayhost = {relayhost}
smtp_tls_security_level = may
smtp_tls_loglevel = 1
smtpd_relay_restrictions = permit_mynetworks, reject
smtp_dns_support_level = disabled
disable_dns_lookups = yes
alias_maps =
alias_database =
local_recipient_maps =
biff = no
message_size_limit = 52428800
default_process_limit = 100
smtp_destination_concurrency_limit = 50
lmtp_destination_concurrency_limit = 50
qmgr_message_active_limit = 20000
qmgr_message_recipient_limit = 20000
in_flow_delay = 0
"""
        if transport:
            with open(os.path.join(self.conf, "transport"), "w") as f:
                for domain, route in transport.items():
                    f.write(f"{domain} {route}\n")
            main += f"transport_maps = texthash:{self.conf}/transport\n"
        if mailbox_domains:
            # Final delivery for these domains: every address gets a Maildir under self.vmail/<local part>/.
            self.vmail = os.path.join(self.tmp, "vmail")
            os.makedirs(self.vmail)
            shutil.chown(self.vmail, "postfix", "postfix")
            with open(os.path.join(self.conf, "vmailbox"), "w") as f:
                f.write("".join("@%s %s/\n" % (d, d) for d in mailbox_domains))
            main += (f"virtual_mailbox_domains = {', '.join(mailbox_domains)}\n"
                     f"virtual_mailbox_base = {self.vmail}\n"
                     f"virtual_mailbox_maps = texthash:{self.conf}/vmailbox\n"
                     "virtual_uid_maps = static:%d\nvirtual_gid_maps = static:%d\n"
                     % (shutil.os.stat(self.vmail).st_uid, shutil.os.stat(self.vmail).st_gid))
        if tls_cert:
            main += f"smtpd_tls_cert_file = {tls_cert[0]}\nsmtpd_tls_key_file = {tls_cert[1]}\nsmtpd_tls_security_level = may\n"
        main += extra_main
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(main)
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(f"""127.0.0.1:{self.port} inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
tlsmgr    unix - - n 1000? 1 tlsmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
lmtp      unix - - n - - lmtp
virtual   unix - n n - - virtual
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
""")
        self.started = False

    def postfix(self, *args):
        return subprocess.run([POSTFIX, "-c", self.conf, *args], capture_output=True, text=True, timeout=60)

    def start(self):
        r = self.postfix("check")
        if r.returncode != 0:
            raise RuntimeError("postfix check failed: " + r.stdout + r.stderr)
        r = self.postfix("start")
        if r.returncode != 0:
            raise RuntimeError("postfix start failed: " + r.stdout + r.stderr + self.logs())
        self.started = True
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("postfix smtpd did not come up:\n" + self.logs())

    def logs(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, pattern, timeout=30, count=1):
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        while True:
            hits = [l for l in self.logs().splitlines() if rx.search(l)]
            if len(hits) >= count:
                return hits
            if time.time() > deadline:
                raise AssertionError("no %d postfix log lines matching %r in:\n%s" % (count, pattern, self.logs()[-4000:]))
            time.sleep(0.1)

    def mailbox(self, domain):
        """The messages Postfix delivered for `domain` (virtual delivery), oldest first."""
        paths = sorted(glob.glob(os.path.join(self.vmail, domain, "new", "*")), key=os.path.getmtime)
        return [open(p, "rb").read() for p in paths]

    def flush(self):
        self.postfix("flush")

    def stop(self):
        if self.started:
            self.postfix("abort")
            self.started = False
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self if self.started else self.start()

    def __exit__(self, *exc):
        self.stop()
