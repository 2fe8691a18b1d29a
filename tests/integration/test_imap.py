"""IMAP through the real tern-maild, driven by Python's imaplib: login rules, mailbox commands, APPEND,
FETCH, STORE, SEARCH, COPY/MOVE, EXPUNGE, IDLE woken by SMTP delivery, two sessions seeing each other."""
import imaplib
import socket
import threading
import time

from imap_peer import PW, ctx, daemon, fetch_uids, login, message, ok, smtp_deliver
from ternlib import check, run_tests


def test_greeting_capabilities_and_login_rules():
    with daemon() as d:
        c = imaplib.IMAP4("127.0.0.1", d.port("imap"), timeout=20)
        caps = c.capabilities
        check("IMAP4REV1" in caps and "IMAP4REV2" in caps and "STARTTLS" in caps, caps)
        check("LOGINDISABLED" in caps, "LOGIN must be disabled before TLS: %r" % (caps,))
        try:
            c.login("alice@example.test", PW)
            check(False, "LOGIN in clear text must be refused")
        except imaplib.IMAP4.error as e:
            check("PRIVACYREQUIRED" in str(e), e)
        c.starttls(ssl_context=ctx())
        typ, _ = c.capability()
        check("LOGINDISABLED" not in c.capabilities and "AUTH=PLAIN" in c.capabilities, c.capabilities)
        try:
            c.login("alice@example.test", "wrong")
            check(False, "a wrong password must fail")
        except imaplib.IMAP4.error as e:
            check("AUTHENTICATIONFAILED" in str(e), e)
        ok(c.login("alice@example.test", PW), "LOGIN")
        caps = ok(c.capability(), "CAPABILITY")[0].decode().split()
        for cap in ("IDLE", "UIDPLUS", "MOVE", "CONDSTORE", "QRESYNC", "SPECIAL-USE", "ESEARCH", "SORT",
                    "THREAD=REFERENCES", "NAMESPACE", "QUOTA", "LIST-STATUS", "BINARY"):
            check(cap in caps, "capability %s missing after login: %r" % (cap, caps))
        c.logout()


def test_authenticate_plain_with_initial_response_over_imaps():
    with daemon() as d:
        c = imaplib.IMAP4_SSL("127.0.0.1", d.port("imaps"), ssl_context=ctx(), timeout=20)
        typ, data = c.authenticate("PLAIN", lambda _: b"\0alice@example.test\0" + PW.encode())
        check(typ == "OK", (typ, data))
        ok(c.select("INBOX"))
        c.logout()


def test_special_folders_list_and_mailbox_commands():
    with daemon() as d:
        c = login(d)
        data = ok(c.list('""', "*"), "LIST")
        lines = [x.decode() for x in data]
        for name, attr in (("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Junk", "\\Junk"), ("Trash", "\\Trash"),
                           ("Archive", "\\Archive")):
            check(any(attr in l and name in l for l in lines), "%s with %s missing from LIST: %r" % (name, attr, lines))
        check(any("INBOX" in l for l in lines), lines)
        ok(c.create("Projects/Tern"), "CREATE with hierarchy")
        data = [x.decode() for x in ok(c.list('""', "Projects/%"))]
        check(len(data) == 1 and '"Projects/Tern"' in data[0] and "\\HasNoChildren" in data[0], data)
        data = [x.decode() for x in ok(c.list('""', "Projects"))]
        check(len(data) == 1 and "\\HasChildren" in data[0], data)
        typ, data = c.create("Projects/Tern")
        check(typ == "NO" and b"ALREADYEXISTS" in data[0], (typ, data))
        ok(c.rename("Projects/Tern", "Projects/Gull"), "RENAME")
        data = [x.decode() for x in ok(c.list('""', "Projects/*"))]
        check(len(data) == 1 and "Gull" in data[0], data)
        ok(c.subscribe("Projects/Gull"))
        data = [x.decode() for x in ok(c.lsub('""', "*"))]
        check(any("Projects/Gull" in l for l in data), data)
        ok(c.delete("Projects/Gull"), "DELETE")
        typ, data = c.select("Projects/Gull")
        check(typ == "NO" and b"NONEXISTENT" in data[0], (typ, data))
        # Non-ASCII names travel in modified UTF-7 (RFC 3501 5.1.3).
        ok(c.create("&ZeVnLIqe-"), "CREATE mUTF-7")
        data = [x.decode() for x in ok(c.list('""', "*"))]
        check(any("&ZeVnLIqe-" in l for l in data), data)
        typ, data = c.namespace()
        check(typ == "OK" and b'(("" "/"))' in data[0], data)
        c.logout()


def test_append_fetch_store_search_and_expunge():
    with daemon() as d:
        c = login(d)
        for i in range(1, 6):
            flags = "(\\Seen)" if i % 2 else "()"
            typ, data = c.append("INBOX", flags, imaplib.Time2Internaldate(1700000000 + i),
                                 message("Note %d" % i, body="Body number %d with needle%d\r\n" % (i, i)))
            check(typ == "OK" and b"APPENDUID" in data[0], (typ, data))
        typ, data = c.select("INBOX")
        check(typ == "OK" and data[0] == b"5", (typ, data))
        data = ok(c.fetch("1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE)"))
        check(len(data) == 5, data)
        check(b"\\Seen" in data[0] and b"\\Seen" not in data[1], data)
        data = ok(c.fetch("2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
        check(data[0][1].strip() == b"Subject: Note 2", data)
        data = ok(c.fetch("2", "(FLAGS)"))
        check(b"\\Seen" not in data[0], "BODY.PEEK must not set \\Seen: %r" % data)
        data = ok(c.fetch("2", "(BODY[TEXT])"))
        check(b"needle2" in data[0][1] and b"\\Seen" in data[0][0], data)
        data = ok(c.fetch("3", "(ENVELOPE BODYSTRUCTURE)"))
        check(b'"Note 3"' in data[0] and b'"carol" "remote.test"' in data[0] and b'"text" "plain"' in data[0].lower(), data)
        data = ok(c.fetch("1", "(BODY.PEEK[]<0.10>)"))
        check(data[0][0].endswith(b"BODY[]<0> {10}") and len(data[0][1]) == 10, data)
        ok(c.store("1:2", "+FLAGS", "(\\Flagged $Important)"))
        data = ok(c.search(None, "FLAGGED"))
        check(data[0] == b"1 2", data)
        data = ok(c.search(None, "KEYWORD", "$Important"))
        check(data[0] == b"1 2", data)
        data = ok(c.search(None, "BODY", "needle4"))
        check(data[0] == b"4", data)
        data = ok(c.search(None, "OR", "SUBJECT", '"Note 5"', "UNSEEN"))
        check(data[0] == b"4 5", "UNSEEN after the FETCH BODY[TEXT] of 2 is only 4; OR SUBJECT adds 5: %r" % data)
        data = ok(c.uid("SEARCH", None, "UID", "2:3"))
        check(data[0] == b"2 3", data)
        ok(c.store("2,4", "+FLAGS.SILENT", "(\\Deleted)"))
        typ, data = c.expunge()
        check(typ == "OK" and data == [b"2", b"3"], "EXPUNGE of 2 and 4 is announced as 2, then 3: %r" % data)
        typ, data = c.select("INBOX")
        check(data[0] == b"3", data)
        check(fetch_uids(c) == [1, 3, 5], fetch_uids(c))
        c.logout()


def test_copy_move_with_copyuid_and_trycreate():
    with daemon() as d:
        c = login(d)
        for i in range(3):
            ok(c.append("INBOX", None, None, message("Move %d" % i)))
        ok(c.select("INBOX"))
        typ, data = c.copy("1", "Nowhere")
        check(typ == "NO" and b"TRYCREATE" in data[0], (typ, data))
        typ, data = c.uid("COPY", "1", "Archive")
        check(typ == "OK", (typ, data))
        _, code = c.response("COPYUID")
        check(code and code[0].split()[1:] == [b"1", b"1"], "COPYUID <validity> 1 1 wanted: %r" % code)
        typ, data = c.uid("MOVE", "2:3", "Trash")
        check(typ == "OK", (typ, data))
        check(fetch_uids(c) == [1], fetch_uids(c))
        ok(c.select("Trash"))
        check(len(fetch_uids(c)) == 2, "the moved messages are in Trash")
        st = ok(c.status("Archive", "(MESSAGES UIDNEXT UNSEEN SIZE)"))
        check(b"MESSAGES 1" in st[0] and b"SIZE" in st[0], st)
        c.logout()


def test_two_sessions_see_each_others_changes():
    with daemon() as d:
        a, b = login(d), login(d)
        ok(a.select("INBOX"))
        ok(b.select("INBOX"))
        ok(b.append("INBOX", None, None, message("From B")))
        typ, data = a.noop()
        check(any(x.endswith(b"EXISTS") for x in a.untagged_responses.get("EXISTS", [b""]) or []) or
              a.untagged_responses.get("EXISTS"), "session A must hear EXISTS: %r" % a.untagged_responses)
        a.untagged_responses.clear()
        ok(b.store("1", "+FLAGS", "(\\Flagged)"))
        ok(a.noop())
        fetches = a.untagged_responses.get("FETCH", [])
        check(any(b"\\Flagged" in f for f in fetches), "session A must hear the flag change: %r" % fetches)
        a.untagged_responses.clear()
        ok(b.store("1", "+FLAGS", "(\\Deleted)"))
        ok(b.expunge())
        ok(a.noop())
        check(a.untagged_responses.get("EXPUNGE") == [b"1"], a.untagged_responses)
        a.logout()
        b.logout()


def test_idle_wakes_on_smtp_delivery():
    with daemon() as d:
        c = login(d)
        ok(c.select("INBOX"))
        tag = c._new_tag()
        c.send(tag + b" IDLE\r\n")
        check(c.readline().startswith(b"+"), "IDLE continuation")
        t0 = time.time()
        threading.Thread(target=smtp_deliver, args=(d, message("Pushed"))).start()
        line = c.readline()
        elapsed = time.time() - t0
        check(line.strip() == b"* 1 EXISTS", line)
        check(elapsed < 3, "IDLE push took %.2fs" % elapsed)
        c.send(b"DONE\r\n")
        while True:
            line = c.readline()
            if line.startswith(tag):
                break
        check(b"OK" in line, line)
        c.logout()


def test_pipelined_commands_and_literal_plus():
    with daemon() as d:
        s = socket.create_connection(("127.0.0.1", d.port("imaps")), timeout=20)
        s = ctx().wrap_socket(s)
        f = s.makefile("rb")
        check(f.readline().startswith(b"* OK"), "greeting")
        body = message("Literal plus")
        s.sendall(b'a1 LOGIN "alice@example.test" {%d+}\r\n%s\r\na2 APPEND INBOX {%d+}\r\n%s\r\na3 SELECT INBOX\r\n'
                  b"a4 FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)])\r\na5 LOGOUT\r\n"
                  % (len(PW), PW.encode(), len(body), body))
        out = b""
        while b"a5 OK" not in out:
            chunk = f.read1(65536)
            if not chunk:
                break
            out += chunk
        for t in (b"a1 OK", b"a2 OK", b"a3 OK", b"a4 OK", b"a5 OK"):
            check(t in out, "%s missing in %r" % (t, out[-500:]))
        check(b"Subject: Literal plus" in out, out[-500:])


def test_bad_and_out_of_state_commands():
    with daemon() as d:
        s = ctx().wrap_socket(socket.create_connection(("127.0.0.1", d.port("imaps")), timeout=20))
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"x1 FROBNICATE\r\nx2 FETCH 1 FLAGS\r\nx3 SELECT\r\n")
        lines = [f.readline() for _ in range(3)]
        check(lines[0].startswith(b"x1 BAD") and b"Unknown command" in lines[0], lines)
        check(lines[1].startswith(b"x2 BAD"), lines)
        check(lines[2].startswith(b"x3 BAD"), lines)
        s.sendall(b"x4 LOGIN alice@example.test {99999999}\r\n")
        line = f.readline()
        check(line.startswith(b"x4 ") and b"TOOBIG" in line or line.startswith(b"x4 BAD"), line)


run_tests([
    test_greeting_capabilities_and_login_rules,
    test_authenticate_plain_with_initial_response_over_imaps,
    test_special_folders_list_and_mailbox_commands,
    test_append_fetch_store_search_and_expunge,
    test_copy_move_with_copyuid_and_trycreate,
    test_two_sessions_see_each_others_changes,
    test_idle_wakes_on_smtp_delivery,
    test_pipelined_commands_and_literal_plus,
    test_bad_and_out_of_state_commands,
])
