#!/usr/bin/python3
"""Dovecot interop: Tern writes a Maildir that the real Dovecot reads with the same UIDs/flags/keywords,
and Dovecot writes (IMAP APPEND/STORE) a Maildir that Tern opens keeping them."""
import getpass, imaplib, json, os, socket, subprocess, sys, tempfile, time

tool = sys.argv[1]
if not os.path.exists("/usr/sbin/dovecot"):
    print("dovecot not installed"); sys.exit(77)
tmp = tempfile.mkdtemp(prefix="tern-dovecot-")
os.chmod(tmp, 0o755)
data = os.path.join(tmp, "data")
me = getpass.getuser()
# Dovecot's login processes refuse to run as root: under root they run as nobody and the tree is readable.
login_user = "nobody" if os.getuid() == 0 else me
import pwd
mail_uid, mail_gid = (pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid) if os.getuid() == 0 else (os.getuid(), os.getgid())
as_mail_user = ["setpriv", f"--reuid={mail_uid}", f"--regid={mail_gid}", "--clear-groups"] if os.getuid() == 0 else []
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
for d in ("base", "state", "data"):
    os.makedirs(os.path.join(tmp, d))
os.chown(data, mail_uid, mail_gid)
with open(os.path.join(tmp, "passwd"), "w") as f:
    f.write(f"alice@example.org:{{PLAIN}}secret:{mail_uid}:{mail_gid}::{tmp}::\n")
conf = os.path.join(tmp, "dovecot.conf")
with open(conf, "w") as f:
    f.write(f"""protocols = imap
base_dir = {tmp}/base
state_dir = {tmp}/state
log_path = {tmp}/dovecot.log
ssl = no
auth_mechanisms = plain
disable_plaintext_auth = no
default_internal_user = {login_user}
default_login_user = {login_user}
first_valid_uid = {mail_uid}
first_valid_gid = {mail_gid}
mail_location = maildir:{data}/mail/%d/%n
passdb {{
  driver = passwd-file
  args = {tmp}/passwd
}}
userdb {{
  driver = passwd-file
  args = {tmp}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
}}
""")

def tern(*args, stdin=None):
    r = subprocess.run(as_mail_user + [tool, data, "alice@example.org", *args], input=stdin, capture_output=True, check=True)
    return [json.loads(l) for l in r.stdout.decode().splitlines()]

# Tern writes first.
u1 = tern("append", "INBOX", "S", "$Forwarded", stdin=b"Subject: one\r\n\r\nfrom tern\r\n")[0]["uid"]
u2 = tern("append", "INBOX", "F", "Work", "$Junk", stdin=b"Subject: two\r\n\r\nfrom tern\r\n")[0]["uid"]
tern_view = tern("list", "INBOX")
# A UTF-8 mailbox name: on disk in Dovecot's Maildir++ form (modified UTF-7), which Dovecot must list.
subprocess.run(as_mail_user + [tool, data, "alice@example.org", "create", "Entwürfe"], check=True)
tern("append", "Entwürfe", "S", stdin=b"Subject: draft\r\n\r\nfrom tern\r\n")
dv = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", conf])
try:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close(); break
        except OSError:
            time.sleep(0.1)
    im = imaplib.IMAP4("127.0.0.1", port)
    im.login("alice@example.org", "secret")
    typ, d = im.select("INBOX")
    typ, resp = im.status("INBOX", "(UIDVALIDITY UIDNEXT)")
    st = resp[0].decode()
    assert f"UIDVALIDITY {tern_view[0]['uidvalidity']}" in st, (st, tern_view[0])
    typ, resp = im.uid("FETCH", "1:*", "(UID FLAGS)")
    got = {}
    for line in resp:
        t = line.decode()
        uid = int(t.split("UID ")[1].split()[0].rstrip(")"))
        flags = set(t.split("FLAGS (")[1].split(")")[0].split())
        got[uid] = flags
    assert got[u1] >= {"\\Seen", "$Forwarded"}, got
    assert got[u2] >= {"\\Flagged", "Work", "$Junk"}, got
    typ, resp = im.list()
    listed = [l.decode() for l in resp]
    assert any(l.endswith('"Entw&APw-rfe"') or l.endswith(" Entw&APw-rfe") for l in listed), listed
    typ, resp = im.status('"Entw&APw-rfe"', "(MESSAGES)")
    assert "MESSAGES 1" in resp[0].decode(), resp
    typ, _ = im.create('"&ANw-bersicht"')
    assert typ == "OK", typ
    # Dovecot writes.
    im.append("INBOX", "(\\Answered Dovecot)", None, b"Subject: three\r\n\r\nfrom dovecot\r\n")
    im.uid("STORE", str(u1), "+FLAGS", "(\\Flagged Later)")
    im.logout()
finally:
    dv.terminate(); dv.wait()
view = tern("list", "INBOX")
assert view[0]["uidvalidity"] == tern_view[0]["uidvalidity"], view
by = {m["uid"]: set(m["flags"]) for m in view[1:]}
assert by[u1] >= {"\\Seen", "\\Flagged", "$Forwarded", "Later"}, by
assert by[u2] >= {"\\Flagged", "Work", "$Junk"}, by
u3 = max(by)
assert u3 > u2 and by[u3] >= {"\\Answered", "Dovecot"}, by
names = tern("mailboxes", "-")
assert "Übersicht" in names and "Entwürfe" in names, names
print("ok: Dovecot read Tern's UIDs/flags/keywords and Tern read Dovecot's")
subprocess.run(["rm", "-rf", tmp])
