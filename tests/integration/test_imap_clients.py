"""Real IMAP clients against tern-maild: isync/mbsync syncs a 2,000-message account both ways over IMAPS
(flags, deletions and new mail on both sides, no duplicates); mutt reads the INBOX over IMAPS under tmux."""
import email
import glob
import os
import shutil
import socket
import subprocess
import time

from imap_peer import PW, ctx, daemon, login, message, ok
from ternlib import check, run_tests

N = 2000


def append_many(d, count, start=0, mailbox="INBOX"):
    """APPENDs through the daemon with LITERAL+ pipelining (what a migration tool does)."""
    s = ctx().wrap_socket(socket.create_connection(("127.0.0.1", d.port("imaps")), timeout=120))
    f = s.makefile("rb")
    f.readline()
    s.sendall(b'l LOGIN "alice@example.test" "%s"\r\n' % PW.encode())
    batch = []
    for i in range(start, start + count):
        m = message("Sync %d" % i, body="Message %d of the sync test.\r\n" % i)
        batch.append(b"a%d APPEND %s {%d+}\r\n%s\r\n" % (i, mailbox.encode(), len(m), m))
    s.sendall(b"".join(batch) + b"z LOGOUT\r\n")
    oks = 0
    while True:
        line = f.readline()
        check(line, "connection closed during APPEND")
        if line.startswith(b"a") and b" OK " in line:
            oks += 1
        elif line.startswith(b"a"):
            check(False, "APPEND failed: %r" % line)
        if line.startswith(b"z OK"):
            break
    check(oks == count, "%d of %d APPENDs succeeded" % (oks, count))


def server_ids(d):
    c = login(d)
    ok(c.select("INBOX"))
    typ, data = c.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    check(typ == "OK", data)
    out = {}
    for item in data:
        if isinstance(item, tuple):
            mid = email.message_from_bytes(item[1])["Message-ID"]
            check(mid not in out, "duplicate on the server: %s" % mid)
            out[mid] = item[0].decode()
    c.logout()
    return out


def local_ids(maildir):
    out = {}
    for p in glob.glob(os.path.join(maildir, "new", "*")) + glob.glob(os.path.join(maildir, "cur", "*")):
        with open(p, "rb") as f:
            mid = email.message_from_bytes(f.read())["Message-ID"]
        check(mid not in out, "duplicate in the local Maildir: %s" % mid)
        out[mid] = p
    return out


def sync_number(path):
    """n of the "Sync n" subject append_many gave the message."""
    with open(path, "rb") as f:
        return int(email.message_from_bytes(f.read())["Subject"].split()[-1])


def mbsync(home, config):
    r = subprocess.run(["mbsync", "-c", config, "-a"], capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, HOME=home))
    check(r.returncode == 0, "mbsync failed (%d):\n%s\n%s" % (r.returncode, r.stdout[-3000:], r.stderr[-3000:]))
    return r


def test_mbsync_full_sync_both_ways():
    if not shutil.which("mbsync"):
        check(False, "mbsync (isync) is not installed: scripts/deps installs it")
    with daemon() as d:
        t0 = time.time()
        append_many(d, N)
        fill = time.time() - t0
        home = os.path.join(d.tmp, "home")
        local = os.path.join(home, "mail")
        os.makedirs(local)
        config = os.path.join(home, "mbsyncrc")
        with open(config, "w") as f:
            f.write("""IMAPAccount tern
Host 127.0.0.1
Port %d
User alice@example.test
Pass "%s"
SSLType IMAPS
CertificateFile %s
PipelineDepth 50

IMAPStore tern-remote
Account tern

MaildirStore tern-local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel tern
Far :tern-remote:
Near :tern-local:
Patterns INBOX Archive
Create Both
Expunge Both
SyncState *
""" % (d.port("imaps"), PW, d.cert, local, local))
        t0 = time.time()
        mbsync(home, config)
        first = time.time() - t0
        inbox = os.path.join(local, "INBOX")
        loc = local_ids(inbox)
        check(len(loc) == N, "first sync: %d local messages, want %d" % (len(loc), N))

        # Changes on the local side: 100 read, 50 deleted, 20 new — "Sync 0".."Sync 149", chosen by subject so
        # they never overlap the server's changes below (mbsync's file names sort differently from run to run).
        paths = sorted(loc.values(), key=sync_number)
        check([sync_number(p) for p in paths[:150]] == list(range(150)), "the first sync kept the subjects")
        for p in paths[:100]:
            base = os.path.basename(p)
            flags = base.split(":2,")[1] if ":2," in base else ""
            new = os.path.join(inbox, "cur", base.split(":2,")[0] + ":2," + "".join(sorted(set(flags + "S"))))
            os.rename(p, new)
        deleted_local = set()
        for p in paths[100:150]:
            mid = [k for k, v in loc.items() if v == p][0]
            deleted_local.add(mid)
            base = os.path.basename(p)
            flags = base.split(":2,")[1] if ":2," in base else ""
            os.rename(p, os.path.join(inbox, "cur", base.split(":2,")[0] + ":2," + "".join(sorted(set(flags + "T")))))
        for i in range(20):
            with open(os.path.join(inbox, "new", "%d.local%d.host" % (int(time.time()), i)), "wb") as f:
                f.write(message("Local %d" % i))
        # Changes on the server: 30 flagged ("Sync 1000".."Sync 1029"), 40 deleted and expunged, 25 new.
        c = login(d)
        ok(c.select("INBOX"))
        ok(c.store("1001:1030", "+FLAGS", "(\\Flagged)"))
        ok(c.store("1501:1540", "+FLAGS", "(\\Deleted)"))
        ok(c.expunge())
        c.logout()
        append_many(d, 25, start=N)

        mbsync(home, config)
        want = N - 50 - 40 + 20 + 25
        srv, loc = server_ids(d), local_ids(inbox)
        check(len(srv) == want, "server has %d messages after the second sync, want %d" % (len(srv), want))
        check(len(loc) == want, "local has %d messages after the second sync, want %d" % (len(loc), want))
        check(set(srv) == set(loc), "the two sides differ: %r" % (set(srv) ^ set(loc)))
        check(not (deleted_local & set(srv)), "messages deleted locally are still on the server")
        seen = [m for m, fl in srv.items() if "\\Seen" in fl]
        check(len(seen) == 100, "the 100 messages read locally must be \\Seen on the server, found %d" % len(seen))
        flagged = [p for p in loc.values() if ":2," in p and "F" in p.split(":2,")[1]]
        check(sorted(sync_number(p) for p in flagged) == list(range(1000, 1030)),
              "the 30 messages flagged on the server must be F locally, found %d" % len(flagged))

        # A third run with no changes changes nothing and duplicates nothing.
        mbsync(home, config)
        check(len(server_ids(d)) == want and len(local_ids(inbox)) == want, "a no-op sync changed the counts")
        print("     %d APPENDs in %.1fs; first mbsync of %d messages %.1fs" % (N, fill, N, first))


def test_mutt_reads_the_inbox_over_imaps():
    for tool in ("mutt", "tmux"):
        check(shutil.which(tool), "%s is not installed: scripts/deps installs it" % tool)
    with daemon() as d:
        for i in range(3):
            c = login(d)
            ok(c.append("INBOX", None, None, message("Mutt subject %d" % i)))
            c.logout()
        home = os.path.join(d.tmp, "mutthome")
        os.makedirs(home)
        rc = os.path.join(home, "muttrc")
        with open(rc, "w") as f:
            f.write('set folder="imaps://alice@example.test@127.0.0.1:%d/"\nset spoolfile="+INBOX"\n'
                    'set imap_pass="%s"\nset ssl_verify_host=no\nset certificate_file="%s"\nset ssl_starttls=no\n'
                    'set header_cache=""\nset message_cachedir=""\nset imap_check_subscribed=no\nset sort=date\n'
                    'set confirmappend=no\nset mail_check=60\n' % (d.port("imaps"), PW, os.path.join(home, "certs")))
        # mutt asks to accept the self-signed certificate: (a)ccept always writes it to certificate_file.
        session = "tern-mutt-%d" % os.getpid()
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "40",
                        "HOME=%s mutt -n -F %s" % (home, rc)], check=True, timeout=30)
        try:
            screen = ""
            deadline = time.time() + 30
            while time.time() < deadline:
                screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True,
                                        text=True).stdout
                if "(r)eject" in screen or "ccept" in screen:
                    subprocess.run(["tmux", "send-keys", "-t", session, "a"], timeout=10)
                    time.sleep(0.5)
                    continue
                if "Mutt subject 2" in screen:
                    break
                time.sleep(0.3)
            for i in range(3):
                check("Mutt subject %d" % i in screen, "mutt's index must list the messages:\n%s" % screen)
            # Open the first message and check its body is shown.
            subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], timeout=10)
            deadline = time.time() + 15
            while time.time() < deadline:
                screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True,
                                        text=True).stdout
                if "Hello there." in screen:
                    break
                time.sleep(0.3)
            check("Hello there." in screen, "mutt must show the message body:\n%s" % screen)
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], timeout=10)


run_tests([test_mbsync_full_sync_both_ways, test_mutt_reads_the_inbox_over_imaps])
