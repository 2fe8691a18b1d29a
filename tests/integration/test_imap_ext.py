"""IMAP extensions through the real tern-maild, driven by imaplib and raw sockets where imaplib cannot
(response order, ENABLE, COMPRESS, literal8): CONDSTORE/QRESYNC resync, SEARCH keys, ESEARCH and SEARCHRES,
SORT and THREAD, MOVE, STATUS and LIST-STATUS, SPECIAL-USE, QUOTA, APPENDLIMIT, BINARY, COMPRESS=DEFLATE,
UTF8=ACCEPT, ID/NAMESPACE/UNSELECT/CLOSE/EXAMINE/UID EXPUNGE, RENAME INBOX, IMAP4rev2, SCRAM-SHA-256, CATENATE,
SAVEDATE and OBJECTID."""
import base64
import calendar
import hashlib
import hmac
import imaplib
import os
import re
import socket
import time
import zlib

from imap_peer import LISTEN, PW, ctx, daemon, login, message, ok, smtp_deliver
from ternlib import Daemon, check, run_tests, ternctl


class Raw:
    """A line-level IMAP client over IMAPS: every untagged response of a command, in order, and literals
    ({n} and literal8 ~{n}) kept inline. Optionally wraps both directions in raw DEFLATE (RFC 4978)."""

    def __init__(self, d, user="alice@example.test", do_login=True):
        self.s = ctx().wrap_socket(socket.create_connection(("127.0.0.1", d.port("imaps")), timeout=20))
        self.buf = b""
        self.n = 0
        self.deflater = self.inflater = None
        self.greeting = self.readline()
        check(self.greeting.startswith(b"* OK"), self.greeting)
        if do_login:
            self.ok('LOGIN "%s" "%s"' % (user, PW))

    def _fill(self):
        data = self.s.recv(65536)
        check(data, "connection closed by the server; buffered: %r" % self.buf[-300:])
        if self.inflater:
            data = self.inflater.decompress(data)
        self.buf += data

    def readline(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n") + 2
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def read(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        if self.deflater:
            data = self.deflater.compress(data) + self.deflater.flush(zlib.Z_SYNC_FLUSH)
        self.s.sendall(data)

    def response(self):
        """One whole response: a line plus any literals it announces."""
        line = self.readline()
        out = line
        while True:
            m = re.search(rb"~?\{(\d+)\}\r\n$", line)
            if not m:
                return out
            out += self.read(int(m.group(1)))
            line = self.readline()
            out += line

    def tag(self):
        self.n += 1
        return b"t%d" % self.n

    def cmd(self, text):
        """Sends one command; returns (untagged responses, tagged line)."""
        tag = self.tag()
        self.send(tag + b" " + (text.encode() if isinstance(text, str) else text) + b"\r\n")
        return self.collect(tag)

    def collect(self, tag):
        untagged = []
        while True:
            r = self.response()
            if r.startswith(tag + b" "):
                return untagged, r
            untagged.append(r)

    def ok(self, text):
        untagged, tagged = self.cmd(text)
        check(tagged.split()[1] == b"OK", "%s: %r (untagged %r)" % (text if isinstance(text, str) else text[:60],
                                                                    tagged, untagged[-5:]))
        return untagged

    def no(self, text, code=None):
        untagged, tagged = self.cmd(text)
        check(tagged.split()[1] == b"NO", "%s must be refused with NO: %r" % (text, tagged))
        if code:
            check(b"[" + code.encode() in tagged, "%s: response code %s wanted: %r" % (text, code, tagged))
        return untagged, tagged

    def append(self, mailbox, msg, flags="", date=None):
        """APPEND with LITERAL+; returns the APPENDUID uid."""
        args = b"APPEND " + mailbox.encode()
        if flags:
            args += b" (" + flags.encode() + b")"
        if date:
            args += b' "' + date.encode() + b'"'
        _, tagged = self.cmd(args + b" {%d+}\r\n" % len(msg) + msg)
        check(b" OK " in tagged, "APPEND: %r" % tagged)
        m = re.search(rb"APPENDUID (\d+) (\d+)", tagged)
        check(m, "APPENDUID missing: %r" % tagged)
        return int(m.group(2))

    def close(self):
        try:
            self.cmd("LOGOUT")
        except Exception:  # noqa: BLE001 - the server may close first
            pass
        self.s.close()


def mk(subject, date="Mon, 23 Nov 2026 10:00:00 +0000", body="Hello.\r\n", sender="Carol <carol@remote.test>",
       msgid=None, extra=""):
    mid = msgid or "<%s@remote.test>" % (re.sub(r"\W", "", subject) or "x")
    return ("From: %s\r\nTo: alice@example.test\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: %s\r\n%s\r\n%s"
            % (sender, subject, date, mid, extra, body)).encode()


def code_value(lines, code):
    """The number in an untagged `* OK [CODE n]` among lines."""
    for l in lines:
        m = re.search(rb"\[" + code.encode() + rb" (\d+)\]", l)
        if m:
            return int(m.group(1))
    check(False, "no [%s n] in %r" % (code, lines))


def nums(line, prefix):
    """The numbers of `* SEARCH 1 2 3` / `* SORT ...` as a list."""
    check(line.startswith(prefix), "%r does not start with %r" % (line, prefix))
    return [int(x) for x in line[len(prefix):].split()]


def search(r, criteria, prefix=b"* SEARCH"):
    untagged = r.ok(criteria)
    lines = [l for l in untagged if l.startswith(prefix)]
    check(len(lines) == 1, "%s: one %r response wanted: %r" % (criteria, prefix, untagged))
    return nums(lines[0].rstrip(), prefix)


def fetches(untagged):
    """{uid-or-seq: line} of the untagged FETCH responses, keyed by UID when present."""
    out = {}
    for l in untagged:
        m = re.match(rb"\* (\d+) FETCH ", l)
        if m:
            u = re.search(rb"UID (\d+)", l)
            out[int(u.group(1)) if u else int(m.group(1))] = l
    return out


def modseq(line):
    m = re.search(rb"MODSEQ \((\d+)\)", line)
    check(m, "MODSEQ missing: %r" % line)
    return int(m.group(1))

def append_and_fetch(d, msgs, items):
    """A session that APPENDs `msgs` to INBOX, SELECTs it and FETCHes `items` of all (the cold answers)."""
    r = Raw(d)
    for m in msgs:
        r.append("INBOX", m)
    r.ok("SELECT INBOX")
    return r, fetches(r.ok("FETCH 1:* " + items))


def test_cached_header_fields_answer_like_the_message():
    """ENVELOPE, HEADER.FIELDS, SEARCH and SORT are answered from the header fields the store caches after
    the first read: the same bytes before and after caching and after a restart; fields outside the
    cached set and a header with a malformed line still come from the message itself."""
    import sqlite3
    msgs = [
        mk("=?UTF-8?Q?Caf=C3=A9?= order", extra="X-Priority: 1\r\nX-Mailer: Tern test\r\nCc: Bob\r\n <bob@remote.test>\r\n"),
        mk("Second", sender="Zed <zed@remote.test>", extra="References: <a@remote.test>\r\n"),
        # A line that is not a field: this header is never cut, always read whole.
        b"From: Amy <amy@remote.test>\r\nSubject: Broken\r\nnot a header line\r\nTo: x@y\r\n\r\nbody\r\n",
    ]
    items = "(ENVELOPE BODY.PEEK[HEADER.FIELDS (From Subject X-Priority Cc)])"
    with daemon() as d:
        r, cold = append_and_fetch(d, msgs, items)
        index = os.path.join(d.tmp, "data", "mail", "example.test", "alice", "tern-index.sqlite")
        db = sqlite3.connect(index)
        rows = db.execute("SELECT uid, length(value) FROM cache WHERE mailbox = 'INBOX' AND field = 'imap.header-fields.v1'"
                          " ORDER BY uid").fetchall()
        db.close()
        check([u for u, _ in rows] == [1, 2, 3] and rows[2][1] == 0 and rows[0][1] > 0,
              "one cache row per message, the malformed header marked uncut: %r" % rows)
        warm = fetches(r.ok("FETCH 1:* " + items))
        check(warm == cold, "cached answers differ:\n%r\n%r" % (cold, warm))
        check(b'"=?UTF-8?Q?Caf=C3=A9?= order"' in cold[1] and b"X-Priority: 1\r\nCc: Bob\r\n <bob@remote.test>\r\n"
              in cold[1], cold[1])
        check(b"Subject: Broken\r\n" in cold[3], cold[3])
        mailer = fetches(r.ok("FETCH 1 BODY.PEEK[HEADER.FIELDS (X-Mailer)]"))
        check(b"X-Mailer: Tern test\r\n" in mailer[1], "a field outside the cache: %r" % mailer)
        check(search(r, "SEARCH SUBJECT ORDER") == [1], "SEARCH SUBJECT from the cache")
        check(search(r, "SEARCH FROM zed") == [2], "SEARCH FROM from the cache")
        check(search(r, "SEARCH HEADER X-Priority 1") == [1], "SEARCH HEADER from the cache")
        check(search(r, "SEARCH HEADER X-Mailer tern") == [1], "SEARCH HEADER outside the cache")
        check(search(r, "SORT (FROM) UTF-8 ALL", b"* SORT") == [3, 1, 2], "SORT FROM")
        r.close()
        again = fetch_after_restart(d, items)
        check(again == cold, "after a restart:\n%r\n%r" % (cold, again))


def fetch_after_restart(d, items):
    """Restarts the daemon and FETCHes `items` of every message of INBOX in a new session."""
    d.stop()
    d.log_lines, d.ports = [], {}
    d.start()
    r = Raw(d)
    r.ok("EXAMINE INBOX")
    out = fetches(r.ok("FETCH 1:* " + items))
    r.close()
    return out


def test_cached_envelope_and_bodystructure_answer_like_the_message():
    """FETCH ENVELOPE, BODY and BODYSTRUCTURE keep their formatted answers in the store's per-message cache:
    a warm FETCH gives the same bytes without opening the message (shown by changing a file's bytes behind
    the server's back, which Maildir never does), and so does a FETCH after a restart."""
    import glob
    import sqlite3
    multipart = (b"From: Dan <dan@remote.test>\r\nTo: alice@example.test\r\nSubject: Parts\r\n"
                 b"Date: Tue, 24 Nov 2026 09:00:00 +0100\r\nMessage-ID: <parts@remote.test>\r\nMIME-Version: 1.0\r\n"
                 b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\n"
                 b"Content-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n--b1\r\n"
                 b"Content-Type: application/pdf; name=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n"
                 b"Content-Disposition: attachment; filename=\"a.pdf\"\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n")
    msgs = [mk("=?UTF-8?Q?Caf=C3=A9?= plain", extra="Cc: Bob\r\n <bob@remote.test>\r\n"), multipart,
            b"From: Amy <amy@remote.test>\r\nSubject: Broken\r\nnot a header line\r\nTo: x@y\r\n\r\nbody\r\n"]
    items = "(UID ENVELOPE BODY BODYSTRUCTURE)"
    with daemon() as d:
        r, cold = append_and_fetch(d, msgs, items)
        check(len(cold) == 3, cold)
        check(b'BODYSTRUCTURE (("TEXT" "PLAIN" ("charset" "utf-8")' in cold[2] and b'"APPLICATION" "PDF"' in cold[2],
              cold[2])
        check(b'"=?UTF-8?Q?Caf=C3=A9?= plain"' in cold[1] and b'ENVELOPE ("Mon, 23 Nov 2026' in cold[1], cold[1])
        box = os.path.join(d.tmp, "data", "mail", "example.test", "alice")
        db = sqlite3.connect(os.path.join(box, "tern-index.sqlite"))
        rows = db.execute("SELECT field, uid FROM cache WHERE mailbox = 'INBOX' AND field IN"
                          " ('imap.envelope.v1', 'imap.bodystructure.v1') ORDER BY field, uid").fetchall()
        db.close()
        check(rows == [("imap.bodystructure.v1", u) for u in (1, 2, 3)] + [("imap.envelope.v1", u) for u in (1, 2, 3)],
              "one cached ENVELOPE and BODYSTRUCTURE per message: %r" % rows)
        # The multipart message's bytes change behind the server's back (same name, same directory mtime).
        files = [f for f in glob.glob(os.path.join(box, "cur", "*")) + glob.glob(os.path.join(box, "new", "*"))
                 if open(f, "rb").read() == multipart]
        check(len(files) == 1, files)
        with open(files[0], "r+b") as f:
            f.write(multipart.replace(b"Subject: Parts", b"Subject: Xarts").replace(b"application/pdf", b"applicatio/pdf"))
        warm = fetches(r.ok("FETCH 1:* " + items))
        check(warm == cold, "cached answers differ:\n%r\n%r" % (cold, warm))
        body = fetches(r.ok("FETCH 2 (BODY.PEEK[HEADER.FIELDS (X-None)] BODY.PEEK[1])"))
        check(b"Hello" in body[2], body)
        r.close()
        again = fetch_after_restart(d, items)
        check(again == cold, "after a restart:\n%r\n%r" % (cold, again))


def test_idle_sees_changes_made_by_another_program():
    """Another program writes the Maildir (an MDA delivering into new/, a client flagging and deleting in
    cur/): a session in IDLE is told within a second, without sending anything."""
    with daemon() as d:
        r = Raw(d)
        r.append("INBOX", mk("First"))
        r.ok("SELECT INBOX")
        inbox = os.path.join(d.tmp, "data", "mail", "example.test", "alice")
        tag = r.tag()
        r.send(tag + b" IDLE\r\n")
        check(r.readline().startswith(b"+"), "IDLE continuation")
        r.s.settimeout(1.5)  # the wait this test allows for each push
        name = "1800000000.M1P4242.other-mda"
        with open(os.path.join(inbox, "tmp", name), "wb") as f:
            f.write(mk("From another MDA"))
        t0 = time.time()
        os.rename(os.path.join(inbox, "tmp", name), os.path.join(inbox, "new", name))
        pushed = [r.readline()]
        while not pushed[-1].endswith(b"EXISTS\r\n"):
            pushed.append(r.readline())
        check(pushed[-1] == b"* 2 EXISTS\r\n", "delivery by another MDA pushed in IDLE: %r" % pushed)
        check(time.time() - t0 < 1.0, "pushed after %.2f s" % (time.time() - t0))
        def until(pattern):
            lines = [r.readline()]
            while not re.match(pattern, lines[-1]):
                lines.append(r.readline())
            return lines
        until(rb"\* \d+ RECENT")  # follows EXISTS
        os.rename(os.path.join(inbox, "new", name), os.path.join(inbox, "cur", name + ":2,F"))
        line = r.readline()
        check(re.match(rb"\* 2 FETCH \(.*\\Flagged", line), "flag change by another client pushed: %r" % line)
        os.unlink(os.path.join(inbox, "cur", name + ":2,F"))
        line = r.readline()
        check(line == b"* 2 EXPUNGE\r\n", "expunge by another client pushed: %r" % line)
        r.s.settimeout(20)
        r.send(b"DONE\r\n")
        _, tagged = r.collect(tag)
        check(b" OK " in tagged, tagged)
        r.close()


# --- CONDSTORE / QRESYNC -------------------------------------------------------------------------------

def test_qresync_resync_after_changes_in_another_session():
    with daemon() as d:
        a = Raw(d)
        en = a.ok("ENABLE QRESYNC")
        check(any(l.startswith(b"* ENABLED") and b"QRESYNC" in l for l in en), en)
        for i in range(1, 6):
            a.append("INBOX", mk("Resync %d" % i))
        sel = a.ok("SELECT INBOX")
        validity, highest = code_value(sel, "UIDVALIDITY"), code_value(sel, "HIGHESTMODSEQ")
        a.close()
        # Another client changes flags on 2 and expunges 4 while the first is offline.
        b = login(d)
        ok(b.select("INBOX"))
        ok(b.uid("STORE", "2", "+FLAGS", "(\\Flagged)"))
        ok(b.uid("STORE", "4", "+FLAGS", "(\\Deleted)"))
        ok(b.expunge())
        b.logout()
        c = Raw(d)
        c.ok("ENABLE QRESYNC")
        sel = c.ok("SELECT INBOX (QRESYNC (%d %d 1:5))" % (validity, highest))
        vanished = [l for l in sel if l.startswith(b"* VANISHED")]
        check(vanished == [b"* VANISHED (EARLIER) 4\r\n"], "VANISHED (EARLIER) 4 wanted: %r" % sel)
        f = fetches(sel)
        check(list(f) == [2], "only UID 2 changed since %d: %r" % (highest, sel))
        check(b"\\Flagged" in f[2] and modseq(f[2]) > highest, f[2])
        check(sel.index(vanished[0]) < sel.index(f[2]), "VANISHED comes before the FETCHes (RFC 7162 3.2.5.1)")
        highest2 = code_value(sel, "HIGHESTMODSEQ")
        check(highest2 >= modseq(f[2]), (highest2, f[2]))
        check(any(l.rstrip() == b"* 4 EXISTS" for l in sel), sel)
        # STORE (UNCHANGEDSINCE): UID 2 changed after `highest`, so it is not modified; UID 1 is.
        untagged, tagged = c.cmd("UID STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)" % highest)
        check(re.match(rb"t\d+ OK \[MODIFIED 2\] ", tagged), "OK [MODIFIED 2] wanted: %r" % tagged)
        f = fetches(untagged)
        check(list(f) == [1] and b"\\Seen" in f[1] and modseq(f[1]) > highest2, untagged)
        flags = fetches(c.ok("UID FETCH 2 (FLAGS)"))
        check(b"\\Seen" not in flags[2], "UID 2 must keep its flags: %r" % flags)
        # FETCH (CHANGEDSINCE): only UID 1 changed after highest2, with its MODSEQ.
        f = fetches(c.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % highest2))
        check(list(f) == [1] and modseq(f[1]) > highest2, f)
        # UID FETCH (CHANGEDSINCE … VANISHED): the expunged UID, then 1 and 2 (both changed since `highest`).
        untagged = c.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % highest)
        check(untagged[0] == b"* VANISHED (EARLIER) 4\r\n", untagged)
        check(sorted(fetches(untagged)) == [1, 2], untagged)
        # CHANGEDSINCE with the current HIGHESTMODSEQ returns nothing.
        now = modseq(fetches(c.ok("UID FETCH 1 (MODSEQ)"))[1])
        check(fetches(c.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % max(now, highest2))) == {}, "nothing changed")
        # SEARCH MODSEQ (RFC 7162 3.1.5): the messages changed after highest2, with the highest MODSEQ.
        untagged = c.ok("SEARCH MODSEQ %d" % (highest2 + 1))
        check(untagged == [b"* SEARCH 1 (MODSEQ %d)\r\n" % now], untagged)
        # While selected with QRESYNC, another session's expunge arrives as VANISHED, not EXPUNGE (3.2.10).
        b = login(d)
        ok(b.select("INBOX"))
        ok(b.uid("STORE", "3", "+FLAGS", "(\\Deleted)"))
        ok(b.expunge())
        b.logout()
        untagged = c.ok("NOOP")
        check(b"* VANISHED 3\r\n" in untagged and not any(b"EXPUNGE" in l for l in untagged), untagged)
        # Another session's flag change arrives with UID and MODSEQ (RFC 7162 3.2.4 / 3.1.4.1).
        b = login(d)
        ok(b.select("INBOX"))
        ok(b.uid("STORE", "5", "+FLAGS", "(\\Answered)"))
        b.logout()
        f = fetches(c.ok("NOOP"))
        check(list(f) == [5] and re.search(rb"\* 3 FETCH \(", f[5]) and b"\\Answered" in f[5] and modseq(f[5]) > now,
              "unsolicited FETCH with UID, FLAGS and MODSEQ wanted: %r" % f)
        c.close()


def test_condstore_select_and_unchangedsince_zero():
    with daemon() as d:
        r = Raw(d)
        for i in range(3):
            r.append("INBOX", mk("Cond %d" % i))
        sel = r.ok("SELECT INBOX (CONDSTORE)")
        highest = code_value(sel, "HIGHESTMODSEQ")
        # After CONDSTORE is enabled every FETCH of flags carries the MODSEQ (RFC 7162 3.1.4.1).
        untagged = r.ok("STORE 1 +FLAGS (\\Seen)")
        check(len(untagged) == 1 and b"\\Seen" in untagged[0] and modseq(untagged[0]) > highest, untagged)
        # UNCHANGEDSINCE 0 can never be satisfied: nothing changes and all are MODIFIED (3.1.3).
        untagged, tagged = r.cmd("STORE 1:3 (UNCHANGEDSINCE 0) +FLAGS (\\Flagged)")
        check(re.match(rb"t\d+ OK \[MODIFIED 1:3\]", tagged) and not any(b"\\Flagged" in l for l in untagged),
              (untagged, tagged))
        f = fetches(r.ok("FETCH 1:3 (UID MODSEQ)"))
        check(sorted(f) == [1, 2, 3] and modseq(f[1]) > modseq(f[2]), f)
        check(fetches(r.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % modseq(f[1]))) == {}, "nothing newer")
        r.close()


def test_unauthenticate_and_login_as_another_user():
    with daemon() as d:
        r = Raw(d)
        r.append("INBOX", mk("For Alice"))
        r.ok("SELECT INBOX")
        r.ok("UNAUTHENTICATE")
        _, tagged = r.cmd("SELECT INBOX")
        check(b" BAD " in tagged or b" NO " in tagged, "not authenticated any more: %r" % tagged)
        r.ok('LOGIN "bob@example.test" "%s"' % PW)
        st = parse_status(r.ok("STATUS INBOX (MESSAGES)")[0])
        check(st == {"MESSAGES": 0}, "Bob sees his own INBOX: %r" % st)
        r.close()


def test_list_extended_selection_and_return_options():
    with daemon() as d:
        r = Raw(d)
        r.ok("CREATE Work/2026")
        r.ok("CREATE Play")
        r.ok("SUBSCRIBE Work/2026")
        names = list_names(r.ok('LIST (SUBSCRIBED) "" "*"'))
        check(b"Work/2026" in names and b"Play" not in names and b"\\Subscribed" in names[b"Work/2026"], names)
        names = list_names(r.ok('LIST "" ("Play" "Work")'))
        check(sorted(names) == [b"Play", b"Work"], "several patterns (RFC 5258 3): %r" % names)
        names = list_names(r.ok('LIST "" "%" RETURN (CHILDREN)'))
        check(b"\\HasChildren" in names[b"Work"] and b"\\HasNoChildren" in names[b"Play"], names)
        # RECURSIVEMATCH: Work is listed (with CHILDINFO) because its child is subscribed.
        untagged = r.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
        check(any(b'"Work"' in l and b"CHILDINFO" in l and b"SUBSCRIBED" in l for l in untagged),
              "RECURSIVEMATCH must list Work (\"CHILDINFO\" (\"SUBSCRIBED\")) (RFC 5258 3.5): %r" % untagged)
        r.close()


def test_unsolicited_expunge_held_during_fetch_and_pushed_in_idle():
    with daemon() as d:
        a = Raw(d)
        for i in range(1, 5):
            a.append("INBOX", mk("Seen by two %d" % i))
        a.ok("SELECT INBOX")
        b = login(d)
        ok(b.select("INBOX"))
        ok(b.uid("STORE", "2", "+FLAGS", "(\\Deleted)"))
        ok(b.expunge())
        # RFC 9051 7.5.1: no EXPUNGE during FETCH/STORE/SEARCH (sequence numbers must not move).
        untagged = a.ok("FETCH 1:* (UID)")
        check(not any(b"EXPUNGE" in l for l in untagged) and len(fetches(untagged)) == 4,
              "FETCH must not announce the expunge: %r" % untagged)
        untagged = a.ok("SEARCH ALL")
        check(not any(b"EXPUNGE" in l for l in untagged), untagged)
        untagged = a.ok("NOOP")
        check([l for l in untagged if b"EXPUNGE" in l] == [b"* 2 EXPUNGE\r\n"], untagged)
        # In IDLE, flag changes and expunges of another session are pushed.
        tag = a.tag()
        a.send(tag + b" IDLE\r\n")
        check(a.readline().startswith(b"+"), "IDLE continuation")
        ok(b.uid("STORE", "3", "+FLAGS", "(\\Flagged)"))
        line = a.readline()
        check(re.match(rb"\* 2 FETCH \(.*\\Flagged", line), "flag change pushed in IDLE: %r" % line)
        ok(b.uid("STORE", "4", "+FLAGS", "(\\Deleted)"))
        ok(b.expunge())
        pushed = [a.readline() for _ in range(1)]
        while not any(b"EXPUNGE" in l for l in pushed):
            pushed.append(a.readline())
        check(pushed[-1] == b"* 3 EXPUNGE\r\n", "expunge pushed in IDLE: %r" % pushed)
        a.send(b"DONE\r\n")
        _, tagged = a.collect(tag)
        check(b" OK" in tagged, tagged)
        b.logout()
        a.close()


# --- SEARCH ----------------------------------------------------------------------------------------------

GRUSS = "Grüße aus Köln"


def search_fixture(r):
    """Four messages with sent dates (Date:) in one order and internal dates in the reverse order."""
    enc = "=?UTF-8?B?%s?=" % base64.b64encode(GRUSS.encode()).decode()
    msgs = [
        (mk("Quarterly report", "Thu, 01 Jan 2026 09:00:00 +0000", "The budget figures.\r\n",
            "Dave <dave@remote.test>"), "\\Seen", "20-Oct-2026 12:00:00 +0000"),
        (mk("Re: Quarterly report", "Sun, 15 Mar 2026 09:00:00 +0000", ("long line of text\r\n" * 300),
            "Erin <erin@remote.test>", extra="X-Priority: 1\r\n"), "\\Flagged", "10-Aug-2026 12:00:00 +0000"),
        (mk("Lunch plans", "Wed, 10 Jun 2026 09:00:00 +0000", "Pizza at noon?\r\n"), "\\Answered \\Seen",
         "05-May-2026 12:00:00 +0000"),
        (mk(enc, "Sun, 20 Sep 2026 09:00:00 +0000", "Danke.\r\n", msgid="<gruss@remote.test>"), "",
         "01-Feb-2026 12:00:00 +0000"),
    ]
    for m, flags, date in msgs:
        r.append("INBOX", m, flags, date)
    r.ok("SELECT INBOX")


def test_search_headers_body_dates_sizes_flags_uids():
    with daemon() as d:
        r = Raw(d)
        search_fixture(r)
        cases = [
            ("SUBJECT quarterly", [1, 2]),
            ('HEADER From "dave@remote"', [1]),
            ("HEADER X-Priority 1", [2]),
            ('HEADER X-Priority ""', [2]),
            ("FROM erin", [2]),
            ("BODY budget", [1]),
            ("BODY quarterly", []),
            ("TEXT quarterly", [1, 2]),
            ("TEXT pizza", [3]),
            # SINCE/BEFORE/ON use the internal date, SENT* the Date: header (RFC 9051 6.4.4).
            ("SINCE 1-Jun-2026", [1, 2]),
            ("BEFORE 1-Mar-2026", [4]),
            ("ON 5-May-2026", [3]),
            ("SENTSINCE 1-Jun-2026", [3, 4]),
            ("SENTBEFORE 1-Mar-2026", [1]),
            ("SENTON 15-Mar-2026", [2]),
            ("LARGER 3000", [2]),
            ("SMALLER 3000", [1, 3, 4]),
            ("FLAGGED", [2]),
            ("SEEN", [1, 3]),
            ("UNSEEN", [2, 4]),
            ("ANSWERED", [3]),
            ("UNANSWERED NOT FLAGGED", [1, 4]),
            ("2,4", [2, 4]),
            ("UID 3:*", [3, 4]),
            ("NOT OR SUBJECT lunch FLAGGED", [1, 4]),
            ("OR SEEN OR FLAGGED ANSWERED", [1, 2, 3]),
            ("(OR SEEN FLAGGED) NOT SUBJECT quarterly", [3]),
            ("NOT (SEEN SUBJECT report)", [2, 3, 4]),
            ("OR (SEEN LARGER 3000) (UNSEEN SMALLER 3000)", [4]),
        ]
        bad = []
        for criteria, want in cases:
            try:
                got = search(r, "SEARCH " + criteria)
            except AssertionError as e:
                got = e
            if got != want:
                bad.append("SEARCH %s: %s, wanted %r" % (criteria, got, want))
        check(not bad, "\n".join(bad))
        check(search(r, "UID SEARCH UID 2:3 SEEN") == [3], "UID SEARCH")
        r.close()


def test_esearch_searchres_and_charsets():
    with daemon() as d:
        r = Raw(d)
        search_fixture(r)
        untagged, tagged = r.cmd("SEARCH RETURN (MIN MAX COUNT ALL) UNFLAGGED")
        check(b" OK" in tagged, tagged)
        es = [l for l in untagged if l.startswith(b"* ESEARCH")]
        check(len(es) == 1 and not any(l.startswith(b"* SEARCH") for l in untagged), untagged)
        m = re.match(rb'\* ESEARCH \(TAG "(\w+)"\) (.*)\r\n', es[0])
        check(m and m.group(1) == tagged.split()[0], "ESEARCH must be correlated with its tag: %r" % es)
        items = m.group(2).split()
        got = dict(zip(items[::2], items[1::2]))
        check(got == {b"MIN": b"1", b"MAX": b"4", b"COUNT": b"3", b"ALL": b"1,3:4"}, "ESEARCH items: %r" % es)
        untagged = r.ok("UID SEARCH RETURN (COUNT) FLAGGED")
        check(any(re.match(rb'\* ESEARCH \(TAG "\w+"\) UID COUNT 1\r\n', l) for l in untagged), untagged)
        # An ESEARCH with no match: no MIN/MAX/ALL, COUNT 0.
        untagged = r.ok("SEARCH RETURN (MIN COUNT) SUBJECT nosuchthing")
        check(any(re.match(rb'\* ESEARCH \(TAG "\w+"\) COUNT 0\r\n', l) for l in untagged), untagged)
        # SEARCHRES (RFC 5182): SAVE, then $ as the sequence set.
        untagged = r.ok("SEARCH RETURN (SAVE) OR FLAGGED ANSWERED")
        check(not any(l.startswith(b"* SEARCH") or l.startswith(b"* ESEARCH") for l in untagged),
              "RETURN (SAVE) alone returns nothing: %r" % untagged)
        f = fetches(r.ok("FETCH $ (UID)"))
        check(sorted(f) == [2, 3], "FETCH $ must fetch the saved result: %r" % f)
        r.ok("UID SEARCH RETURN (SAVE) SUBJECT lunch")
        f = fetches(r.ok("UID FETCH $ (FLAGS)"))
        check(list(f) == [3] and b"\\Answered" in f[3], f)
        # CHARSET UTF-8 with a non-ASCII, RFC 2047 encoded subject.
        word = "Grüße".encode()
        untagged = r.ok(b"SEARCH CHARSET UTF-8 SUBJECT {%d+}\r\n%s" % (len(word), word))
        check(nums(untagged[-1].rstrip(), b"* SEARCH") == [4], untagged)
        untagged = r.ok(b"SEARCH CHARSET UTF-8 SUBJECT {%d+}\r\n%s" % (len("köln".encode()), "köln".encode()))
        check(nums(untagged[-1].rstrip(), b"* SEARCH") == [4], "case-insensitive non-ASCII: %r" % untagged)
        _, tagged = r.no("SEARCH CHARSET X-NO-SUCH-CHARSET SUBJECT x", "BADCHARSET")
        # WITHIN (RFC 5032): the fixture's internal dates are weeks old; a fresh APPEND is younger.
        r.append("INBOX", mk("Fresh"))
        r.ok("NOOP")
        check(search(r, "SEARCH YOUNGER 3600") == [5], "YOUNGER")
        check(search(r, "SEARCH OLDER 3600") == [1, 2, 3, 4], "OLDER")
        r.close()


# --- SORT and THREAD -------------------------------------------------------------------------------------

def test_sort_and_thread_on_a_reply_chain():
    with daemon() as d:
        r = Raw(d)
        chain = [
            mk("Plan", "Thu, 01 Jan 2026 09:00:00 +0000", "x" * 4000 + "\r\n", "Zed <zed@remote.test>", "<a@t>"),
            mk("Re: Plan", "Sat, 03 Jan 2026 09:00:00 +0000", "x" * 1000 + "\r\n", "Amy <amy@remote.test>", "<b@t>",
               "In-Reply-To: <a@t>\r\nReferences: <a@t>\r\n"),
            mk("Other", "Fri, 02 Jan 2026 09:00:00 +0000", "x" * 3000 + "\r\n", "Max <max@remote.test>", "<c@t>"),
            mk("Re: Plan", "Sun, 04 Jan 2026 09:00:00 +0000", "x" * 2000 + "\r\n", "Bob <bob@remote.test>", "<d@t>",
               "In-Reply-To: <b@t>\r\nReferences: <a@t> <b@t>\r\n"),
        ]
        for m in chain:
            r.append("INBOX", m)
        r.ok("SELECT INBOX")
        cases = [("(REVERSE DATE)", [4, 2, 3, 1]), ("(DATE)", [1, 3, 2, 4]),
                 ("(SUBJECT)", [3, 1, 2, 4]), ("(FROM)", [2, 4, 3, 1]), ("(SIZE)", [2, 4, 3, 1]),
                 ("(REVERSE SIZE)", [1, 3, 4, 2])]
        bad = []
        for crit, want in cases:
            got = search(r, "SORT %s UTF-8 ALL" % crit, b"* SORT")
            if got != want:
                bad.append("SORT %s: %r, wanted %r" % (crit, got, want))
        check(not bad, "\n".join(bad))
        check(search(r, "UID SORT (SUBJECT) UTF-8 NOT FROM max", b"* SORT") == [1, 2, 4], "UID SORT with criteria")
        untagged = r.ok("THREAD REFERENCES UTF-8 ALL")
        th = [l for l in untagged if l.startswith(b"* THREAD")]
        check(th == [b"* THREAD (1 2 4)(3)\r\n"], "THREAD REFERENCES: %r" % untagged)
        untagged = r.ok("THREAD ORDEREDSUBJECT UTF-8 ALL")
        th = [l for l in untagged if l.startswith(b"* THREAD")]
        check(th == [b"* THREAD (1 (2)(4))(3)\r\n"], "THREAD ORDEREDSUBJECT: %r" % untagged)
        r.close()


def test_base_subject_for_sort_and_orderedsubject():
    """RFC 5256 2.1 base subjects: Re:/Fwd: prefixes, [blob] prefixes, (fwd) trailers and [Fwd: ...] wrappers
    are removed and case does not matter (i;unicode-casemap)."""
    with daemon() as d:
        r = Raw(d)
        subjects = ["Plan", "RE: plan", "Fwd: PLAN", "[team] Re: Plan", "Plan (fwd)", "[Fwd: plan]", "Other"]
        for i, subj in enumerate(subjects):
            day = 20 if subj == "Other" else 10 + i  # Other is the newest thread
            r.append("INBOX", mk(subj, "Mon, %02d Jan 2026 09:00:00 +0000" % day, msgid="<s%d@t>" % i))
        r.ok("SELECT INBOX")
        got = search(r, "SORT (SUBJECT) UTF-8 ALL", b"* SORT")
        check(got == [7, 1, 2, 3, 4, 5, 6], "SORT (SUBJECT) by base subject, ties by sequence: %r" % got)
        untagged = r.ok("THREAD ORDEREDSUBJECT UTF-8 ALL")
        th = [l for l in untagged if l.startswith(b"* THREAD")]
        check(th == [b"* THREAD (1 (2)(3)(4)(5)(6))(7)\r\n"], "one thread per base subject: %r" % untagged)
        r.close()


# --- MOVE ------------------------------------------------------------------------------------------------

def test_move_copyuid_before_expunge_and_flags_kept():
    with daemon() as d:
        r = Raw(d)
        for i in range(1, 4):
            r.append("INBOX", mk("Move %d" % i), "\\Flagged $Label" if i == 2 else "")
        r.ok("SELECT INBOX")
        untagged = r.ok("UID MOVE 2:3 Archive")
        cu = [i for i, l in enumerate(untagged) if l.startswith(b"* OK [COPYUID ")]
        ex = [i for i, l in enumerate(untagged) if l.endswith(b" EXPUNGE\r\n")]
        check(len(cu) == 1 and re.match(rb"\* OK \[COPYUID \d+ 2:3 1:2\]", untagged[cu[0]]), untagged)
        check([untagged[i] for i in ex] == [b"* 2 EXPUNGE\r\n", b"* 2 EXPUNGE\r\n"], untagged)
        check(cu[0] < ex[0], "COPYUID must come before the EXPUNGEs (RFC 6851 4.3): %r" % untagged)
        # Moving UIDs that are gone is not an error, and expunges nothing.
        untagged, tagged = r.cmd("UID MOVE 2:3 Archive")
        check(b" OK" in tagged and not any(b"EXPUNGE" in l for l in untagged), (untagged, tagged))
        r.ok("SELECT Archive")
        f = fetches(r.ok("UID FETCH 1:* (FLAGS)"))
        check(sorted(f) == [1, 2], f)
        check(b"\\Flagged" in f[1] and b"$Label" in f[1] and b"\\Flagged" not in f[2], "moved flags: %r" % f)
        st = r.ok("STATUS INBOX (MESSAGES)")
        check(any(b"MESSAGES 1)" in l for l in st), st)
        r.close()


# --- STATUS, LIST-STATUS, SPECIAL-USE --------------------------------------------------------------------

def list_names(untagged):
    """{mailbox name: attribute list} of the LIST responses; names may be atoms, quoted or literals."""
    out = {}
    for l in untagged:
        m = re.match(rb'\* LIST \(([^)]*)\) (?:"[^"]*"|NIL) (?:\{\d+\}\r\n(.*)|"((?:[^"\\]|\\.)*)"|(\S+))\r\n$', l, re.S)
        if m:
            name = m.group(2) if m.group(2) is not None else m.group(3) if m.group(3) is not None else m.group(4)
            out[name] = m.group(1)
    return out


def parse_status(line):
    m = re.search(rb"\((.*)\)", line)
    items = m.group(1).split()
    return {k.decode(): int(v) for k, v in zip(items[::2], items[1::2])}


def test_status_list_status_and_special_use():
    with daemon() as d:
        r = Raw(d)
        sizes = []
        for i, flags in enumerate(("\\Seen", "", "\\Deleted")):
            m = mk("Status %d" % i, body="b" * (100 * (i + 1)) + "\r\n")
            sizes.append(len(m))
            r.append("INBOX", m, flags)
        sel = r.ok("EXAMINE INBOX")
        validity, highest = code_value(sel, "UIDVALIDITY"), code_value(sel, "HIGHESTMODSEQ")
        r.ok("UNSELECT")
        st = r.ok("STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ RECENT)")
        check(len(st) == 1 and st[0].startswith(b"* STATUS INBOX ("), st)
        s = parse_status(st[0])
        want = {"MESSAGES": 3, "UIDNEXT": 4, "UIDVALIDITY": validity, "UNSEEN": 2, "DELETED": 1, "SIZE": sum(sizes),
                "HIGHESTMODSEQ": highest}
        check(all(s.get(k) == v for k, v in want.items()) and "RECENT" in s, "STATUS %r, wanted %r" % (s, want))
        # LIST-STATUS (RFC 5819): a STATUS after each listed mailbox.
        untagged = r.ok('LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN))')
        statuses = {}
        for i, l in enumerate(untagged):
            if l.startswith(b"* STATUS "):
                check(i > 0 and untagged[i - 1].startswith(b"* LIST "), "STATUS must follow its LIST: %r" % untagged)
                name = l[len(b"* STATUS "):l.rindex(b" (")].strip(b'"')
                statuses[name] = parse_status(l)
        check(statuses.get(b"INBOX") == {"MESSAGES": 3, "UNSEEN": 2}, statuses)
        check(statuses.get(b"Archive") == {"MESSAGES": 0, "UNSEEN": 0}, statuses)
        check(len(statuses) == sum(1 for l in untagged if l.startswith(b"* LIST ")), untagged)
        # SPECIAL-USE (RFC 6154): RETURN (SPECIAL-USE) and the (SPECIAL-USE) selection option.
        r.ok("CREATE Projects")
        untagged = r.ok('LIST "" "*" RETURN (SPECIAL-USE)')
        listed = list_names(untagged)
        check(b"\\Sent" in listed.get(b"Sent", b"") and b"Projects" in listed, untagged)
        untagged = r.ok('LIST (SPECIAL-USE) "" "*"')
        names = sorted(list_names(untagged))
        check(names == [b"Archive", b"Drafts", b"Junk", b"Sent", b"Trash"], "only special-use mailboxes: %r" % untagged)
        # CREATE-SPECIAL-USE for a standard name; another name is refused with USEATTR.
        r.ok("DELETE Archive")
        r.ok("CREATE Archive (USE (\\Archive))")
        untagged = r.ok('LIST "" Archive RETURN (SPECIAL-USE)')
        check(len(untagged) == 1 and b"\\Archive" in untagged[0], untagged)
        _, tagged = r.no("CREATE Stuff (USE (\\Archive))", "USEATTR")
        untagged = r.ok('LIST "" Stuff')
        check(untagged == [], "a refused CREATE must not create the mailbox: %r" % untagged)
        r.close()


# --- QUOTA and APPEND limits -----------------------------------------------------------------------------

def test_quota_getquotaroot_and_overquota():
    d = Daemon(LISTEN)
    for args, stdin in ((("domain", "add", "example.test"), None),
                        (("user", "add", "alice@example.test"), PW + "\n"),
                        (("user", "quota", "alice@example.test", "10M", "5"), None)):
        res = ternctl(d.config, *args, stdin=stdin)
        check(res.returncode == 0, "ternctl %s: %s%s" % (" ".join(args), res.stdout, res.stderr))
    with d.start():
        r = Raw(d)
        untagged = r.ok("GETQUOTAROOT INBOX")
        check(b'* QUOTAROOT INBOX ""\r\n' in untagged, untagged)
        q = [l for l in untagged if l.startswith(b"* QUOTA ")]
        check(len(q) == 1 and re.match(rb'\* QUOTA "" \(STORAGE 0 10240 MESSAGE 0 5\)\r\n', q[0]), untagged)
        m = mk("Quota", body="q" * 4000 + "\r\n")
        r.append("INBOX", m)
        q = [l for l in r.ok('GETQUOTA ""') if l.startswith(b"* QUOTA ")]
        used = (len(m) + 1023) // 1024
        check(q and re.match(rb'\* QUOTA "" \(STORAGE %d 10240 MESSAGE 1 5\)\r\n' % used, q[0]), (q, used))
        # A message that does not fit the storage quota (11 MB > 10 MiB).
        big = mk("Too big", body=("z" * 998 + "\r\n") * 11000)
        _, tagged = r.cmd(b"APPEND INBOX {%d+}\r\n%s" % (len(big), big))
        check(b" NO [OVERQUOTA]" in tagged, "APPEND over the storage quota: %r" % tagged)
        for i in range(4):
            r.append("INBOX", mk("Count %d" % i))
        m = mk("Sixth")
        _, tagged = r.cmd(b"APPEND INBOX {%d+}\r\n%s" % (len(m), m))
        check(b" NO [OVERQUOTA]" in tagged, "APPEND over the message quota: %r" % tagged)
        st = parse_status(r.ok("STATUS INBOX (MESSAGES)")[0])
        check(st == {"MESSAGES": 5}, st)
        # MULTIAPPEND is all or nothing (RFC 3502 6.3.11): with room for none, neither message stays.
        r.ok("SELECT INBOX")
        r.no("COPY 1 Archive", "OVERQUOTA")
        check(parse_status(r.ok("STATUS Archive (MESSAGES)")[0]) == {"MESSAGES": 0}, "nothing was copied")
        # The administrator raises the quota while the daemon runs; GETQUOTA follows (directory reload).
        res = ternctl(d.config, "user", "quota", "alice@example.test", "20M", "50")
        check(res.returncode == 0, res.stderr)
        deadline = time.time() + 5
        while True:
            q = [l for l in r.ok('GETQUOTA ""') if l.startswith(b"* QUOTA ")]
            if re.match(rb'\* QUOTA "" \(STORAGE \d+ 20480 MESSAGE 5 50\)', q[0]) or time.time() > deadline:
                break
            time.sleep(0.2)
        check(re.match(rb'\* QUOTA "" \(STORAGE \d+ 20480 MESSAGE 5 50\)', q[0]), "new quota not applied: %r" % q)
        r.ok("COPY 1 Archive")
        # 6 messages of 50 used: a MULTIAPPEND whose second message breaks the storage quota stores nothing.
        small, huge = mk("Multi 1"), mk("Multi 2", body=("z" * 998 + "\r\n") * 21000)
        _, tagged = r.cmd(b"APPEND Archive {%d+}\r\n%s {%d+}\r\n%s" % (len(small), small, len(huge), huge))
        check(b" NO [OVERQUOTA]" in tagged, "MULTIAPPEND over quota: %r" % tagged)
        check(parse_status(r.ok("STATUS Archive (MESSAGES)")[0]) == {"MESSAGES": 1},
              "the first message of a failed MULTIAPPEND must not stay")
        _, tagged = r.cmd(b"APPEND Archive {%d+}\r\n%s {%d+}\r\n%s" % (len(small), small, len(small), small))
        m = re.search(rb"\[APPENDUID \d+ (\S+)\]", tagged)
        check(b" OK " in tagged and m and m.group(1) == b"3:4", "MULTIAPPEND APPENDUID lists both UIDs: %r" % tagged)
        r.close()


def test_appendlimit_toobig_without_reading_and_empty_message():
    with daemon(extra='\n[imap]\nappend_limit = "1M"\n') as d:
        r = Raw(d)
        caps = r.ok("CAPABILITY")
        check(any(b" APPENDLIMIT=1048576" in l for l in caps), caps)
        tag = r.tag()
        r.send(tag + b" APPEND INBOX {2000000}\r\n")
        line = r.readline()
        check(line.startswith(tag + b" NO [TOOBIG]"), "a sync literal over APPENDLIMIT is refused at once: %r" % line)
        # The server did not wait for the 2 MB: the next command is answered on the same connection.
        r.ok("NOOP")
        st = parse_status(r.ok("STATUS INBOX (MESSAGES APPENDLIMIT)")[0])
        check(st == {"MESSAGES": 0, "APPENDLIMIT": 1048576}, st)
        r.no(b"APPEND INBOX {0+}\r\n")
        # A non-synchronising literal over the limit cannot be refused in time: the server says why and
        # closes the connection (RFC 7888 4) rather than read 2 MB as commands.
        r2 = Raw(d)
        tag = r2.tag()
        r2.send(tag + b" APPEND INBOX {2000000+}\r\n")
        line = r2.readline()
        check(line.startswith(tag + b" ") and b"[TOOBIG]" in line, line)
        check(r2.readline().startswith(b"* BYE"), "BYE after an oversized LITERAL+")
        r.append("INBOX", mk("Fits", body="f" * 500000 + "\r\n"))
        st = parse_status(r.ok("STATUS INBOX (MESSAGES)")[0])
        check(st == {"MESSAGES": 1}, st)
        r.close()


# --- BINARY and COMPRESS ---------------------------------------------------------------------------------

BLOB = bytes(range(256)) * 4
TEXT = "Grüße, the text part.\r\n".encode()


def multipart():
    return (b"From: carol@remote.test\r\nTo: alice@example.test\r\nSubject: Binary\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + base64.encodebytes(TEXT).replace(b"\n", b"\r\n") +
            b"--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + base64.encodebytes(BLOB).replace(b"\n", b"\r\n") + b"--XX--\r\n")


def test_binary_fetch_decodes_base64_parts():
    with daemon() as d:
        c = login(d)
        ok(c.append("INBOX", None, None, multipart()))
        ok(c.select("INBOX"))
        data = ok(c.fetch("1", "(BINARY.PEEK[1] BINARY.SIZE[1])"))
        check(data[0][1] == TEXT, "BINARY[1] must be the decoded text: %r" % (data,))
        check(b"BINARY.SIZE[1] %d" % len(TEXT) in b"".join(x if isinstance(x, bytes) else x[0] for x in data), data)
        r = Raw(d)
        r.ok("SELECT INBOX")
        untagged = r.ok("FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2])")
        check(len(untagged) == 1, untagged)
        line = untagged[0]
        # NUL bytes must travel in a literal8 (RFC 3516 4.2).
        m = re.search(rb"BINARY\[2\] ~\{(\d+)\}\r\n", line)
        check(m and int(m.group(1)) == len(BLOB), "literal8 of %d bytes wanted: %r" % (len(BLOB), line[:200]))
        check(line[m.end():m.end() + len(BLOB)] == BLOB, "BINARY[2] must be the decoded bytes")
        check(b"BINARY.SIZE[2] %d" % len(BLOB) in line, line[-100:])
        # A partial BINARY: bytes 256..271 of the decoded part.
        line = r.ok("FETCH 1 (BINARY.PEEK[2]<256.16>)")[0]
        m = re.search(rb"BINARY\[2\]<256> ~?\{16\}\r\n", line)
        check(m and line[m.end():m.end() + 16] == BLOB[256:272], "partial BINARY: %r" % line)
        flags = r.ok("FETCH 1 (FLAGS)")
        check(b"\\Seen" not in flags[0], "BINARY.PEEK must not set \\Seen: %r" % flags)
        # An unknown Content-Transfer-Encoding cannot be decoded: NO [UNKNOWN-CTE] (RFC 3516 4.3).
        odd = (b"From: carol@remote.test\r\nSubject: Odd\r\nMIME-Version: 1.0\r\n"
               b"Content-Transfer-Encoding: x-rot13\r\n\r\nuryyb\r\n")
        r.append("INBOX", odd)
        r.no("FETCH 2 (BINARY.PEEK[1])", "UNKNOWN-CTE")
        # APPEND of a binary message in a literal8 (RFC 3516 4.4): 8-bit and NUL bytes survive.
        raw8 = b"From: carol@remote.test\r\nSubject: Raw\r\nContent-Transfer-Encoding: binary\r\n\r\n" + BLOB
        _, tagged = r.cmd(b"APPEND INBOX ~{%d+}\r\n%s" % (len(raw8), raw8))
        check(b" OK " in tagged, tagged)
        r.ok("NOOP")
        line = r.ok("FETCH 3 (BINARY.PEEK[1])")[0]
        check(line.endswith(BLOB + b")\r\n"), "the binary body comes back intact: %r" % line[-80:])
        r.close()


def test_compress_deflate_both_ways():
    with daemon() as d:
        c = login(d)
        body = "".join("Line %d of a compressible message.\r\n" % i for i in range(400))
        ok(c.append("INBOX", None, None, mk("Squeeze", body=body)))
        c.logout()
        r = Raw(d)
        caps = r.ok("CAPABILITY")
        check(b"COMPRESS=DEFLATE" in caps[0], caps)
        r.ok("COMPRESS DEFLATE")
        r.deflater = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        r.inflater = zlib.decompressobj(-15)
        check(not r.buf, "nothing may follow the COMPRESS OK uncompressed: %r" % r.buf)
        caps = r.ok("CAPABILITY")
        check(b"COMPRESS=DEFLATE" not in caps[0], "COMPRESS is offered only once: %r" % caps)
        sel = r.ok("SELECT INBOX")
        check(any(l.rstrip() == b"* 1 EXISTS" for l in sel), sel)
        untagged = r.ok("FETCH 1 (BODY.PEEK[TEXT])")
        check(body.encode() in untagged[0], untagged[0][:200])
        r.no("COMPRESS DEFLATE", "COMPRESSIONACTIVE")
        r.ok("NOOP")
        # IDLE through the compressed stream: the push must be flushed, not left in the deflater.
        tag = r.tag()
        r.send(tag + b" IDLE\r\n")
        check(r.readline().startswith(b"+"), "IDLE continuation")
        other = login(d)
        ok(other.append("INBOX", None, None, mk("Pushed")))
        other.logout()
        check(r.readline() == b"* 2 EXISTS\r\n", "the new mail is pushed through COMPRESS")
        r.send(b"DONE\r\n")
        untagged, tagged = r.collect(tag)
        check(b" OK" in tagged, (untagged, tagged))
        r.close()


# --- UTF8=ACCEPT, ID, NAMESPACE, UNSELECT/CLOSE, EXAMINE, UID EXPUNGE, RENAME INBOX, IMAP4rev2 -------------

def test_utf8_accept_mailbox_names():
    with daemon() as d:
        a = Raw(d)
        en = a.ok("ENABLE UTF8=ACCEPT")
        check(any(l.startswith(b"* ENABLED") and b"UTF8=ACCEPT" in l for l in en), en)
        name = "Grüße".encode()
        a.ok(b'CREATE "' + name + b'"')
        untagged = a.ok('LIST "" "*"')
        check(name in list_names(untagged), "the UTF-8 name lists as UTF-8: %r" % untagged)
        a.ok(b'SELECT "' + name + b'"')
        # RFC 6855 4: after ENABLE UTF8=ACCEPT a message with UTF-8 headers is appended as UTF8 (literal8).
        raw = ("From: Jürgen <juergen@remote.test>\r\nSubject: Größe\r\n\r\nInhalt\r\n").encode()
        _, tagged = a.cmd(b'APPEND "' + name + b'" UTF8 (~{%d+}\r\n%s)' % (len(raw), raw))
        check(b" OK " in tagged, "APPEND UTF8 (...): %r" % tagged)
        a.ok("NOOP")
        line = a.ok("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[0]
        check("Subject: Größe".encode() in line, line)
        check(search(a, b"SEARCH SUBJECT {%d+}\r\n%s" % (len("größe".encode()), "größe".encode())) == [1], "UTF-8 search")
        a.close()
        b = Raw(d)
        untagged = b.ok('LIST "" "*"')
        check(b"Gr&APwA3w-e" in list_names(untagged) and name not in list_names(untagged),
              "without ENABLE the same mailbox lists in modified UTF-7: %r" % untagged)
        b.ok("SELECT Gr&APwA3w-e")
        # Without ENABLE UTF8=ACCEPT the UTF8 APPEND form is refused (RFC 6855 4) and nothing is stored.
        raw = "Subject: Größe\r\n\r\nx\r\n".encode()
        _, tagged = b.cmd(b"APPEND INBOX UTF8 (~{%d+}\r\n%s)" % (len(raw), raw))
        check(b" BAD " in tagged or b" NO " in tagged, tagged)
        check(parse_status(b.ok("STATUS INBOX (MESSAGES)")[0]) == {"MESSAGES": 0}, "nothing appended")
        b.close()


def test_id_namespace_unselect_close_examine_uid_expunge():
    with daemon() as d:
        r = Raw(d)
        idr = r.ok('ID ("name" "test_imap_ext" "version" "1")')
        check(len(idr) == 1 and idr[0].startswith(b"* ID (") and b'"name"' in idr[0], idr)
        ns = r.ok("NAMESPACE")
        check(ns == [b'* NAMESPACE (("" "/")) NIL NIL\r\n'], ns)
        for i in range(1, 6):
            r.append("INBOX", mk("Keep %d" % i))
        r.ok("SELECT INBOX")
        r.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        untagged = r.ok("UNSELECT")
        check(untagged == [], "UNSELECT expunges nothing: %r" % untagged)
        sel = r.ok("SELECT INBOX")
        check(any(l.rstrip() == b"* 5 EXISTS" for l in sel), sel)
        untagged = r.ok("CLOSE")
        check(not any(b"EXPUNGE" in l for l in untagged), "CLOSE expunges silently: %r" % untagged)
        _, tagged = r.cmd("FETCH 1 FLAGS")
        check(b" BAD " in tagged, "no mailbox is selected after CLOSE: %r" % tagged)
        st = parse_status(r.ok("STATUS INBOX (MESSAGES)")[0])
        check(st == {"MESSAGES": 4}, "CLOSE removed the \\Deleted message: %r" % st)
        # EXAMINE is read-only.
        _, tagged = r.cmd("EXAMINE INBOX")
        check(tagged.split()[1:3] == [b"OK", b"[READ-ONLY]"], tagged)
        r.no("STORE 1 +FLAGS (\\Seen)")
        r.ok("FETCH 1 (BODY[TEXT])")
        f = fetches(r.ok("FETCH 1 (FLAGS)"))
        check(b"\\Seen" not in f[1], "FETCH BODY[] in EXAMINE must not set \\Seen: %r" % f)
        r.no("EXPUNGE")
        r.ok("CLOSE")
        # CLOSE of a mailbox opened with EXAMINE expunges nothing (RFC 9051 6.4.1): mark one \Deleted first.
        r.ok("SELECT INBOX")
        r.ok("UID STORE 2 +FLAGS.SILENT (\\Deleted)")
        r.ok("EXAMINE INBOX")
        r.ok("CLOSE")
        st = parse_status(r.ok("STATUS INBOX (MESSAGES DELETED)")[0])
        check(st == {"MESSAGES": 4, "DELETED": 1}, "CLOSE after EXAMINE must not expunge: %r" % st)
        # UID EXPUNGE removes only the given \Deleted UIDs (UIDs 2..5 are left).
        _, tagged = r.cmd("SELECT INBOX")
        check(b"[READ-WRITE]" in tagged, tagged)
        r.ok("UID STORE 4,5 +FLAGS.SILENT (\\Deleted)")
        untagged = r.ok("UID EXPUNGE 3:4")
        check([l for l in untagged if b"EXPUNGE" in l] == [b"* 3 EXPUNGE\r\n"], untagged)
        f = fetches(r.ok("UID FETCH 1:* (FLAGS)"))
        check(sorted(f) == [2, 3, 5] and b"\\Deleted" in f[2] and b"\\Deleted" in f[5], f)
        r.close()


def test_rename_inbox_moves_messages():
    with daemon() as d:
        r = Raw(d)
        for i in range(2):
            r.append("INBOX", mk("Old %d" % i))
        r.ok("RENAME INBOX Saved")
        check(parse_status(r.ok("STATUS Saved (MESSAGES)")[0]) == {"MESSAGES": 2}, "messages moved to Saved")
        check(parse_status(r.ok("STATUS INBOX (MESSAGES)")[0]) == {"MESSAGES": 0}, "INBOX stays, empty")
        untagged = r.ok('LIST "" INBOX')
        check(len(untagged) == 1 and untagged[0].rstrip().endswith(b"INBOX"), untagged)
        r.append("INBOX", mk("New"))
        check(parse_status(r.ok("STATUS INBOX (MESSAGES)")[0]) == {"MESSAGES": 1}, "INBOX still takes mail")
        r.close()


def test_imap4rev2_select_has_list_and_no_recent():
    with daemon() as d:
        r = Raw(d)
        r.append("INBOX", mk("Rev"))
        sel = r.ok("SELECT INBOX")
        check(any(l.rstrip().endswith(b" RECENT") for l in sel), "IMAP4rev1 SELECT has RECENT: %r" % sel)
        r.ok("UNSELECT")
        en = r.ok("ENABLE IMAP4rev2")
        check(any(l.startswith(b"* ENABLED") and b"IMAP4REV2" in l.upper() for l in en), en)
        sel = r.ok("SELECT INBOX")
        check(not any(b"RECENT" in l for l in sel), "no RECENT in IMAP4rev2 (RFC 9051 7.4): %r" % sel)
        check(any(re.match(rb'\* LIST \([^)]*\) "/" "?INBOX"?\r\n', l) for l in sel),
              "IMAP4rev2 SELECT returns a LIST response (RFC 9051 6.3.2): %r" % sel)
        check(any(l.rstrip() == b"* 1 EXISTS" for l in sel), sel)
        untagged = r.ok("SEARCH ALL")
        check(any(l.startswith(b"* ESEARCH") for l in untagged), "IMAP4rev2 SEARCH answers ESEARCH: %r" % untagged)
        r.close()


# --- SCRAM-SHA-256 -------------------------------------------------------------------------------------

class Scram:
    """The client side of SCRAM-SHA-256 (RFC 5802/7677) as an imaplib authobject."""

    def __init__(self, user, password):
        self.user, self.password = user, password
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.step = 0
        self.server_ok = False

    def __call__(self, challenge):
        self.step += 1
        if self.step == 1:
            self.first_bare = "n=%s,r=%s" % (self.user.replace("=", "=3D").replace(",", "=2C"), self.nonce)
            return ("n,," + self.first_bare).encode()
        if self.step == 2:
            server_first = challenge.decode()
            attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
            check(attrs["r"].startswith(self.nonce) and len(attrs["r"]) > len(self.nonce), server_first)
            salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(), base64.b64decode(attrs["s"]),
                                         int(attrs["i"]))
            client_key = hmac.digest(salted, b"Client Key", "sha256")
            stored_key = hashlib.sha256(client_key).digest()
            without_proof = "c=%s,r=%s" % (base64.b64encode(b"n,,").decode(), attrs["r"])
            auth_message = ",".join((self.first_bare, server_first, without_proof)).encode()
            signature = hmac.digest(stored_key, auth_message, "sha256")
            proof = bytes(a ^ b for a, b in zip(client_key, signature))
            self.server_signature = hmac.digest(hmac.digest(salted, b"Server Key", "sha256"), auth_message, "sha256")
            return ("%s,p=%s" % (without_proof, base64.b64encode(proof).decode())).encode()
        final = challenge.decode()
        check(final == "v=" + base64.b64encode(self.server_signature).decode(),
              "the server must prove it knows the password: %r" % final)
        self.server_ok = True
        return b""


def test_scram_sha256_login_with_scram_credentials():
    with daemon(extra='\n[auth]\npassword_scheme = "SCRAM-SHA-256"\n') as d:
        c = imaplib.IMAP4_SSL("127.0.0.1", d.port("imaps"), ssl_context=ctx(), timeout=20)
        check("AUTH=SCRAM-SHA-256" in c.capabilities, c.capabilities)
        scram = Scram("alice@example.test", PW)
        typ, data = c.authenticate("SCRAM-SHA-256", scram)
        check(typ == "OK" and scram.server_ok, (typ, data, scram.step))
        ok(c.select("INBOX"))
        c.logout()
        c = imaplib.IMAP4_SSL("127.0.0.1", d.port("imaps"), ssl_context=ctx(), timeout=20)
        try:
            c.authenticate("SCRAM-SHA-256", Scram("alice@example.test", "wrong password"))
            check(False, "SCRAM with a wrong password must fail")
        except imaplib.IMAP4.error as e:
            check("AUTHENTICATIONFAILED" in str(e), e)
        c.shutdown()
        # SASL-IR (RFC 4959): the client-first message on the AUTHENTICATE line.
        r = Raw(d, do_login=False)
        scram = Scram("bob@example.test", PW)
        tag = r.tag()
        r.send(tag + b" AUTHENTICATE SCRAM-SHA-256 " + base64.b64encode(scram(b"")) + b"\r\n")
        line = r.readline()
        check(line.startswith(b"+ "), line)
        r.send(base64.b64encode(scram(base64.b64decode(line[2:].strip()))) + b"\r\n")
        line = r.readline()
        check(line.startswith(b"+ "), "server-final in a continuation: %r" % line)
        scram(base64.b64decode(line[2:].strip()))
        r.send(b"\r\n")
        _, tagged = r.collect(tag)
        check(tagged.startswith(tag + b" OK") and scram.server_ok, tagged)
        r.ok("SELECT INBOX")
        r.close()
        # The stored credentials still verify LOGIN.
        login(d, "bob@example.test").logout()


def test_scram_not_offered_with_the_default_scheme():
    with daemon() as d:
        c = imaplib.IMAP4_SSL("127.0.0.1", d.port("imaps"), ssl_context=ctx(), timeout=20)
        check("AUTH=PLAIN" in c.capabilities, c.capabilities)
        check(not any(x.startswith("AUTH=SCRAM") for x in c.capabilities),
              "SCRAM needs SCRAM or plain credentials; SHA512-CRYPT hashes cannot serve it: %r" % (c.capabilities,))
        c.logout()


# --- CATENATE, SAVEDATE, OBJECTID ----------------------------------------------------------------------

def status_of(r, mailbox, items):
    return parse_status(r.ok("STATUS %s (%s)" % (mailbox, items))[0])


def body_of(r, uid):
    """BODY.PEEK[] of a UID in the selected mailbox."""
    untagged = r.ok("UID FETCH %d BODY.PEEK[]" % uid)
    check(len(untagged) == 1, untagged)
    m = re.search(rb"BODY\[\] \{(\d+)\}\r\n", untagged[0])
    check(m, untagged[0][:200])
    return untagged[0][m.end():m.end() + int(m.group(1))]


def appenduids(tagged):
    m = re.search(rb"APPENDUID (\d+) ([\d,:]+)\]", tagged)
    check(m, "APPENDUID missing: %r" % tagged)
    out = []
    for part in m.group(2).split(b","):
        a, _, b = part.partition(b":")
        out += list(range(int(a), int(b or a) + 1))
    return out


def test_catenate_text_url_section_partial_and_multiappend():
    """RFC 4469: TEXT and URL parts (whole message, SECTION, PARTIAL, with and without UIDVALIDITY, absolute URL
    of the own server) assemble one message, stored with flags like APPEND; MULTIAPPEND of CATENATE messages;
    synchronising literals get their continuation; the source keeps its flags (a URL fetch is a PEEK)."""
    with daemon() as d:
        r = Raw(d)
        caps = b" ".join(r.ok("CAPABILITY"))
        check(b" CATENATE" in caps, caps)
        src = (b"From: carol@remote.test\r\nSubject: Source\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\n"
               b"First part.\r\n--XX\r\nContent-Type: text/plain\r\n\r\nSecond part.\r\n--XX--\r\n")
        uid = r.append("INBOX", src)
        uv = status_of(r, "INBOX", "UIDVALIDITY")["UIDVALIDITY"]
        hdr = b"From: alice@example.test\r\nSubject: Forward\r\n\r\n"
        tail = b"\r\n-- \r\nAlice\r\n"
        url1 = "/INBOX;UIDVALIDITY=%d/;UID=%d/;SECTION=2" % (uv, uid)
        _, tagged = r.cmd(b"APPEND Drafts (\\Draft) CATENATE (TEXT {%d+}\r\n%s URL \"%s\" TEXT {%d+}\r\n%s)"
                          % (len(hdr), hdr, url1.encode(), len(tail), tail))
        check(b" OK " in tagged, tagged)
        (u1,) = appenduids(tagged)
        # Whole message without UIDVALIDITY (lower-case keys as imaptest writes them), and PARTIAL of it.
        _, tagged = r.cmd(b'APPEND Drafts CATENATE (URL "/inbox/;uid=%d")' % uid)
        (u2,) = appenduids(tagged)
        _, tagged = r.cmd(b'APPEND Drafts CATENATE (URL "/INBOX/;UID=%d/;SECTION=HEADER/;PARTIAL=6.17" TEXT {4+}\r\n\r\nok)'
                          % uid)
        (u3,) = appenduids(tagged)
        # An absolute URL naming this server and this user; MULTIAPPEND of two CATENATE messages.
        absurl = b"imap://alice%%40example.test@mail.example.test/INBOX/;UID=%d/;SECTION=1" % uid
        _, tagged = r.cmd(b'APPEND Drafts CATENATE (TEXT {16+}\r\nSubject: one\r\n\r\n URL "%s") (\\Seen) '
                          b'CATENATE (TEXT {16+}\r\nSubject: two\r\n\r\n URL "%s")' % (absurl, absurl))
        u4, u5 = appenduids(tagged)
        # Synchronising literals: the server asks for each one with "+".
        tag = r.tag()
        r.send(tag + b" APPEND Drafts CATENATE (TEXT {%d}\r\n" % len(hdr))
        check(r.readline().startswith(b"+"), "continuation for the first TEXT literal")
        r.send(hdr + b' URL "/INBOX/;UID=%d/;SECTION=1" TEXT {%d}\r\n' % (uid, len(tail)))
        check(r.readline().startswith(b"+"), "continuation for the second TEXT literal")
        r.send(tail + b")\r\n")
        _, tagged = r.collect(tag)
        (u6,) = appenduids(tagged)
        r.ok("SELECT Drafts")
        check(body_of(r, u1) == hdr + b"Second part." + tail, body_of(r, u1))
        check(body_of(r, u2) == src, body_of(r, u2))
        check(body_of(r, u3) == b"carol@remote.test\r\nok", body_of(r, u3))
        check(body_of(r, u4) == b"Subject: one\r\n\r\nFirst part.", body_of(r, u4))
        check(body_of(r, u5) == b"Subject: two\r\n\r\nFirst part.", body_of(r, u5))
        check(body_of(r, u6) == hdr + b"First part." + tail, body_of(r, u6))
        f = fetches(r.ok("UID FETCH %d,%d,%d FLAGS" % (u1, u4, u5)))
        check(b"\\Draft" in f[u1] and b"\\Seen" not in f[u4] and b"\\Seen" in f[u5], f)
        r.ok("SELECT INBOX")
        f = fetches(r.ok("UID FETCH %d FLAGS" % uid))
        check(b"\\Seen" not in f[uid], "fetching a URL must not set \\Seen: %r" % f)
        # A TEXT literal8 (RFC 3516 with RFC 4469): binary content with NUL survives, as with APPEND ~{n}.
        bin_hdr = b"From: carol@remote.test\r\nSubject: Raw\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        _, tagged = r.cmd(b"APPEND INBOX CATENATE (TEXT {%d+}\r\n%s TEXT ~{%d+}\r\n%s)"
                          % (len(bin_hdr), bin_hdr, len(BLOB), BLOB))
        (u7,) = appenduids(tagged)
        r.ok("NOOP")
        line = r.ok("UID FETCH %d (BINARY.PEEK[1])" % u7)[0]
        check(line.endswith(BLOB + b")\r\n"), "the binary TEXT part comes back intact: %r" % line[-80:])
        check(b"\x00" not in body_of(r, u7), "BODY[] carries no NUL (the binary part is stored base64)")
        r.close()


def test_catenate_badurl_toobig_trycreate_and_other_users():
    """NO [BADURL url] for a wrong UIDVALIDITY, a missing mailbox or UID, URLAUTH, another user's or another
    server's URL; nothing of the command is stored (MULTIAPPEND is all or nothing). NO [TRYCREATE] comes
    before the URLs are looked at; the assembled size is bounded by APPENDLIMIT (NO [TOOBIG])."""
    with daemon(extra='\n[imap]\nappend_limit = "1M"\n') as d:
        bob = Raw(d, user="bob@example.test")
        bob_uid = bob.append("INBOX", mk("Bob's secret", body="Bob only.\r\n"))
        bob.close()
        r = Raw(d)
        uid = r.append("INBOX", mk("Alice's", body="a" * 600000 + "\r\n"))
        uv = status_of(r, "INBOX", "UIDVALIDITY")["UIDVALIDITY"]
        before = status_of(r, "Drafts", "MESSAGES")["MESSAGES"]
        for url in ["/INBOX;UIDVALIDITY=%d/;UID=%d" % (uv + 1, uid),
                    "/NoSuchBox/;UID=1",
                    "/INBOX/;UID=%d" % (uid + 10),
                    "/INBOX/;UID=%d/;URLAUTH=anonymous:internal:0123456789abcdef" % uid,
                    "imap://bob%%40example.test@mail.example.test/INBOX/;UID=%d" % bob_uid,
                    "imap://alice%%40example.test@elsewhere.test/INBOX/;UID=%d" % uid,
                    "INBOX/;UID=1"]:
            _, tagged = r.no('APPEND Drafts CATENATE (TEXT {10+}\r\nSubject: x URL "%s")' % url, "BADURL")
            check(("[BADURL " + url + "]").encode() in tagged, "the bad URL is named: %r" % tagged)
        # The second message of a MULTIAPPEND has the bad URL: the first one is not kept either.
        r.no(b'APPEND Drafts CATENATE (URL "/INBOX/;UID=%d/;SECTION=HEADER") CATENATE (URL "/INBOX/;UID=99999")' % uid,
             "BADURL")
        check(status_of(r, "Drafts", "MESSAGES")["MESSAGES"] == before, "nothing stored after BADURL")
        # Alice's relative URL names her own INBOX, never Bob's.
        _, tagged = r.cmd(b'APPEND Drafts CATENATE (URL "/INBOX/;UID=%d/;SECTION=HEADER.FIELDS%%20(Subject)")' % uid)
        r.ok("SELECT Drafts")
        check(body_of(r, appenduids(tagged)[0]) == b"Subject: Alice's\r\n\r\n", "own INBOX")
        # The destination is checked before the URLs: TRYCREATE, even with a bad URL.
        r.no('APPEND NoSuchBox CATENATE (URL "/INBOX;UIDVALIDITY=1/;UID=1")', "TRYCREATE")
        # 2 x 600 KB assembled exceeds the 1 MB APPENDLIMIT, though every literal is small.
        r.no('APPEND Drafts CATENATE (URL "/INBOX/;UID=%d" TEXT {2+}\r\n\r\n URL "/INBOX/;UID=%d")' % (uid, uid), "TOOBIG")
        # Syntax errors are BAD; an empty assembled message is refused.
        _, tagged = r.cmd('APPEND Drafts CATENATE (TEXT "quoted")')
        check(tagged.split()[1] == b"BAD", tagged)
        _, tagged = r.cmd('APPEND Drafts CATENATE ()')
        check(tagged.split()[1] == b"BAD", tagged)
        r.no('APPEND Drafts CATENATE (TEXT {0+}\r\n)', "CANNOT")
        check(status_of(r, "Drafts", "MESSAGES")["MESSAGES"] == before + 1, "only the good APPEND stored")
        r.close()


def copyuid(response):
    """The destination UID of a one-message COPY/MOVE (COPYUID in the tagged OK, or untagged for MOVE)."""
    untagged, tagged = response
    for l in untagged + [tagged]:
        m = re.search(rb"COPYUID \d+ \d+ (\d+)\]", l)
        if m:
            return int(m.group(1))
    check(False, "COPYUID missing: %r %r" % (untagged, tagged))


def imap_time(text):
    return calendar.timegm(time.strptime(text.decode()[:20], "%d-%b-%Y %H:%M:%S"))


def savedates(r, uids):
    out = {}
    for l in r.ok("UID FETCH %s (SAVEDATE INTERNALDATE)" % ",".join(map(str, uids))):
        u = int(re.search(rb"UID (\d+)", l).group(1))
        m = re.search(rb'SAVEDATE (NIL|"([^"]+)")', l)
        check(m, "SAVEDATE missing: %r" % l)
        out[u] = imap_time(m.group(2)) if m.group(2) else None
    return out


def test_savedate_append_copy_move_delivery_and_restart():
    """RFC 8514: SAVEDATE is when the message was saved into its current mailbox (APPEND, SMTP delivery,
    COPY, MOVE), not its internal date; it survives a restart; SAVEDSINCE/SAVEDON/SAVEDBEFORE search it;
    a Maildir file whose name carries no time has SAVEDATE NIL and is searched by its internal date."""
    with daemon() as d:
        r = Raw(d)
        caps = b" ".join(r.ok("CAPABILITY"))
        check(b" SAVEDATE" in caps, caps)
        t0 = int(time.time())
        old = r.append("INBOX", mk("Old"), date="01-Jan-2001 10:00:00 +0000")
        smtp_deliver(d, message("Delivered"))
        r.ok("SELECT INBOX")
        delivered = max(search(r, "UID SEARCH ALL"))
        time.sleep(1.2)
        t1 = int(time.time())
        r.ok("CREATE Keep")
        copied = copyuid(r.cmd("UID COPY %d Keep" % old))
        time.sleep(1.2)
        t2 = int(time.time())
        moved = copyuid(r.cmd("UID MOVE %d Keep" % delivered))
        t3 = int(time.time())
        r.ok("SELECT INBOX")
        sd = savedates(r, [old])
        check(t0 <= sd[old] <= t1, "APPEND with an old INTERNALDATE is saved now: %r (%d..%d)" % (sd, t0, t1))
        r.ok("SELECT Keep")
        sd.update(savedates(r, [copied, moved]))
        check(t1 <= sd[copied] <= t2, "COPY gives the copy a new save date: %r" % sd)
        check(t2 <= sd[moved] <= t3, "MOVE too: %r" % sd)
        today = time.strftime("%d-%b-%Y", time.gmtime())
        check(search(r, "UID SEARCH SAVEDSINCE %s" % today) == sorted([copied, moved]), "SAVEDSINCE today")
        check(search(r, "UID SEARCH SAVEDBEFORE %s" % today) == [], "SAVEDBEFORE today")
        check(search(r, "UID SEARCH SAVEDON %s" % today) == sorted([copied, moved]), "SAVEDON today")
        check(search(r, "UID SEARCH SINCE %s" % today) == [moved], "SINCE is the internal date")
        check(search(r, "UID SEARCH SAVEDATESUPPORTED") == sorted([copied, moved]), "SAVEDATESUPPORTED")
        r.close()
        # A file another program put there under a name without a time: NIL, searched by internal date.
        new = os.path.join(d.tmp, "data", "mail", "example.test", "alice", ".Keep", "new")
        check(os.path.isdir(new), os.listdir(os.path.dirname(new)))
        path = os.path.join(new, "hand-written-message")
        with open(path, "wb") as f:
            f.write(mk("By hand"))
        os.utime(path, (978343200, 978343200))  # 01-Jan-2001 10:00:00 UTC
        d.stop()
        d.log_lines, d.ports = [], {}
        d.start()
        r = Raw(d)
        r.ok("SELECT Keep")
        uids = search(r, "UID SEARCH ALL")
        check(len(uids) == 3, uids)
        after = savedates(r, uids)
        check(after[copied] == sd[copied] and after[moved] == sd[moved], "the same after a restart: %r %r" % (after, sd))
        hand = [u for u in uids if u not in (copied, moved)][0]
        check(after[hand] is None, "no time in the file name: SAVEDATE NIL: %r" % after)
        check(search(r, "UID SEARCH SAVEDON 1-Jan-2001") == [hand], "NIL is searched by its internal date")
        r.close()


def objectids(r, what, uids):
    """{uid: value} of FETCH EMAILID / THREADID (value None for NIL)."""
    out = {}
    for l in r.ok("UID FETCH %s (%s)" % (",".join(map(str, uids)), what)):
        u = int(re.search(rb"UID (\d+)", l).group(1))
        m = re.search(what.encode() + rb" (NIL|\(([A-Za-z0-9_-]{1,255})\))", l)
        check(m, "%s missing or malformed: %r" % (what, l))
        out[u] = m.group(2)
    return out


def mailboxid(r, mailbox):
    line = r.ok("STATUS %s (MAILBOXID)" % mailbox)[0]
    m = re.search(rb"MAILBOXID \(([A-Za-z0-9_-]{1,255})\)", line)
    check(m, line)
    return m.group(1)


def test_objectid_mailboxid_emailid_across_rename_copy_move_and_restart():
    """RFC 8474: MAILBOXID on CREATE, SELECT and STATUS, kept by RENAME and new for a new mailbox of the same name;
    EMAILID distinct per message and kept by COPY and MOVE (and a restart); THREADID NIL; SEARCH EMAILID."""
    with daemon() as d:
        r = Raw(d)
        caps = b" ".join(r.ok("CAPABILITY"))
        check(b" OBJECTID" in caps, caps)
        _, tagged = r.cmd("CREATE Projects")
        m = re.search(rb"OK \[MAILBOXID \(([A-Za-z0-9_-]+)\)\]", tagged)
        check(m, "CREATE answers MAILBOXID: %r" % tagged)
        pid = m.group(1)
        check(mailboxid(r, "Projects") == pid, "STATUS MAILBOXID")
        check(mailboxid(r, "INBOX") != pid, "every mailbox has its own id")
        u1 = r.append("Projects", mk("One"))
        u2 = r.append("Projects", mk("Two"))
        untagged = r.ok("SELECT Projects")
        check(any(b"OK [MAILBOXID (" + pid + b")]" in l for l in untagged), "SELECT announces MAILBOXID: %r" % untagged)
        ids = objectids(r, "EMAILID", [u1, u2])
        check(ids[u1] != ids[u2] and ids[u1] != pid, ids)
        check(objectids(r, "THREADID", [u1, u2]) == {u1: None, u2: None}, "THREADID NIL")
        r.ok("UNSELECT")
        r.ok("RENAME Projects Work")
        check(mailboxid(r, "Work") == pid, "RENAME keeps MAILBOXID")
        _, tagged = r.cmd("CREATE Projects")
        check(b"MAILBOXID" in tagged and pid not in tagged, "a new mailbox of the old name has a new id: %r" % tagged)
        r.ok("SELECT Work")
        check(objectids(r, "EMAILID", [u1, u2]) == ids, "RENAME keeps EMAILID")
        c1 = copyuid(r.cmd("UID COPY %d INBOX" % u1))
        m2 = copyuid(r.cmd("UID MOVE %d INBOX" % u2))
        check(objectids(r, "EMAILID", [u1]) == {u1: ids[u1]}, "the original keeps its EMAILID")
        r.ok("SELECT INBOX")
        check(objectids(r, "EMAILID", [c1, m2]) == {c1: ids[u1], m2: ids[u2]}, "COPY and MOVE keep EMAILID")
        check(search(r, "UID SEARCH EMAILID %s" % ids[u2].decode()) == [m2], "SEARCH EMAILID")
        check(search(r, "UID SEARCH THREADID %s" % ids[u2].decode()) == [], "SEARCH THREADID (none kept)")
        u3 = r.append("INBOX", mk("Three"))
        ids3 = objectids(r, "EMAILID", [u3])
        check(ids3[u3] not in (ids[u1], ids[u2]), "a new message has a new EMAILID")
        r.close()
        d.stop()
        d.log_lines, d.ports = [], {}
        d.start()
        r = Raw(d)
        check(mailboxid(r, "Work") == pid, "MAILBOXID after a restart")
        r.ok("SELECT INBOX")
        check(objectids(r, "EMAILID", [c1, m2, u3]) == {c1: ids[u1], m2: ids[u2], u3: ids3[u3]}, "EMAILID after a restart")
        r.ok("UNSELECT")
        # RFC 8474 4.1 / RFC 9051 6.3.6: RENAME INBOX moves the messages to a new mailbox with a new MAILBOXID;
        # INBOX stays (empty) with its own.
        inbox = mailboxid(r, "INBOX")
        r.ok("RENAME INBOX Old")
        check(mailboxid(r, "INBOX") == inbox and mailboxid(r, "Old") not in (inbox, pid), "RENAME INBOX")
        r.ok("SELECT Old")
        moved = objectids(r, "EMAILID", search(r, "UID SEARCH ALL"))
        check(sorted(moved.values()) == sorted([ids[u1], ids[u2], ids3[u3]]), "RENAME INBOX keeps EMAILIDs: %r" % moved)
        r.close()


run_tests([
    test_qresync_resync_after_changes_in_another_session,
    test_condstore_select_and_unchangedsince_zero,
    test_unauthenticate_and_login_as_another_user,
    test_list_extended_selection_and_return_options,
    test_unsolicited_expunge_held_during_fetch_and_pushed_in_idle,
    test_search_headers_body_dates_sizes_flags_uids,
    test_esearch_searchres_and_charsets,
    test_sort_and_thread_on_a_reply_chain,
    test_base_subject_for_sort_and_orderedsubject,
    test_move_copyuid_before_expunge_and_flags_kept,
    test_status_list_status_and_special_use,
    test_quota_getquotaroot_and_overquota,
    test_appendlimit_toobig_without_reading_and_empty_message,
    test_binary_fetch_decodes_base64_parts,
    test_compress_deflate_both_ways,
    test_utf8_accept_mailbox_names,
    test_id_namespace_unselect_close_examine_uid_expunge,
    test_rename_inbox_moves_messages,
    test_imap4rev2_select_has_list_and_no_recent,
    test_scram_sha256_login_with_scram_credentials,
    test_scram_not_offered_with_the_default_scheme,
    test_cached_header_fields_answer_like_the_message,
    test_cached_envelope_and_bodystructure_answer_like_the_message,
    test_idle_sees_changes_made_by_another_program,
    test_catenate_text_url_section_partial_and_multiappend,
    test_catenate_badurl_toobig_trycreate_and_other_users,
    test_savedate_append_copy_move_delivery_and_restart,
    test_objectid_mailboxid_emailid_across_rename_copy_move_and_restart,
])
