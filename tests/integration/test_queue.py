"""The outbound queue through the real tern-maild: an authenticated submission to a remote address is
spooled (250 only after fsync), shows up in `ternctl queue list --json` with its DSN parameters and the
deferral (connection refused), and is held, released, flushed and deleted with ternctl while the daemon runs and
after it stopped; a restarted daemon still has it."""
import email
import email.policy
import json
import os
import smtplib
import ssl

from ternlib import Daemon, check, run_tests, ternctl

LISTEN = "".join('\n[[listen]]\nservice = "%s"\naddress = "127.0.0.1:0"\n' % s for s in ("smtp", "submissions"))
# remote.test is routed to a closed loopback port: every attempt is deferred ("connection refused").
ROUTE = '\n[transport]\n"remote.test" = "smtp:127.0.0.1:9"\n'
QUEUE = '\n[queue]\ncontrol_poll = "100ms"\nretry_schedule = ["1h"]\n' + ROUTE
PW = "correct horse battery"


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def setup(d):
    for args, stdin in ((("domain", "add", "example.test"), None), (("user", "add", "alice@example.test"), PW + "\n")):
        r = ternctl(d.config, *args, stdin=stdin)
        check(r.returncode == 0, "ternctl %s: %s%s" % (" ".join(args), r.stdout, r.stderr))


def queue(d, *args):
    r = ternctl(d.config, "queue", *args)
    check(r.returncode == 0, "ternctl queue %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
    return r.stdout


def listed(d):
    return json.loads(queue(d, "list", "--json"))


def submit(d):
    s = smtplib.SMTP_SSL("127.0.0.1", d.port("submissions"), context=ctx(), timeout=10)
    s.login("alice@example.test", PW)
    refused = s.sendmail("alice@example.test", ["bob@remote.test"],
                         "From: alice@example.test\r\nTo: bob@remote.test\r\nSubject: out\r\n\r\nleaving\r\n",
                         mail_options=["RET=HDRS", "ENVID=env-1"],
                         rcpt_options=["NOTIFY=FAILURE,DELAY", "ORCPT=rfc822;bob@remote.test"])
    check(refused == {}, refused)
    s.quit()


def thread_names(pid):
    names = set()
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            names.add(open("/proc/%d/task/%s/comm" % (pid, tid)).read().strip())
        except OSError:
            pass  # the thread ended meanwhile
    return names


def test_submission_to_a_remote_address_is_queued_and_managed_with_ternctl():
    d = Daemon(LISTEN + QUEUE)
    setup(d)
    with d.start():
        submit(d)
        d.wait_log(r"queue\.queued .*id=")
        d.wait_log(r"queue\.deferred .*rcpt=bob@remote\.test .*code=451")
        # What `top -H` and `ps -L` show: the I/O threads, the worker that wrote the message, the committer
        # that synced it, the control thread.
        names = thread_names(d.proc.pid)
        check({"tern-io-0", "tern-worker", "tern-commit", "tern-control"} <= names, names)
        msgs = listed(d)
        check(len(msgs) == 1, msgs)
        m = msgs[0]
        check(m["from"] == "alice@example.test" and m["envid"] == "env-1" and m["ret"] == "HDRS", m)
        r = m["recipients"][0]
        check(r["address"] == "bob@remote.test" and r["state"] == "deferred" and r["attempts"] == 1, r)
        check(r["notify"] == "FAILURE,DELAY" and r["orcpt"] == "rfc822;bob@remote.test", r)
        check(r["last_code"] == 451 and "Connection to 127.0.0.1 [127.0.0.1]:9 failed" in r["last_reply"], r)
        spool = os.path.join(d.tmp, "data", "queue")
        # One file per message: the record (up to its "end" line), then the message as it will be sent.
        with open(os.path.join(spool, m["id"] + ".qf"), "rb") as f:
            record, sep, body = f.read().partition(b"\nend\n")
        check(sep and record.startswith(b"tern-queue-record 1\nid " + m["id"].encode()), record[:300])
        check(body.startswith(b"Received: from") and b"Subject: out\r\n" in body, body[:300])
        check(b"\nsize %d\n" % len(body) in record, record)
        # The deferral is recorded in the side record, which supersedes the queue file's.
        with open(os.path.join(spool, m["id"] + ".env"), "rb") as f:
            check(b" deferred 1 " in f.read(), "side record without the deferral")
        text = queue(d, "show", m["id"])
        check(m["id"] in text and "<bob@remote.test>" in text and "451" in text, text)
        # hold: the runner applies the request and answers; flush leaves a held message alone.
        queue(d, "hold", m["id"])
        check(listed(d)[0]["held"] is True, listed(d))
        queue(d, "flush")
        queue(d, "release", m["id"])
        check(listed(d)[0]["held"] is False, listed(d))
        d.wait_log(r"queue\.deferred .*attempt=2")  # release makes it due at once
        bad = ternctl(d.config, "queue", "hold", "0000000000000-00000000")
        check(bad.returncode == 1 and "no queued message" in bad.stderr, (bad.stdout, bad.stderr))
        # A second message, kept across a restart.
        submit(d)
        d.wait_log(r"queue\.queued (?:(?!%s).)*$" % m["id"])
        check(len(listed(d)) == 2, listed(d))
        queue(d, "delete", m["id"])
        check([x["id"] for x in listed(d)] != [m["id"]] and len(listed(d)) == 1, listed(d))
        for ext in (".qf", ".env"):
            check(not os.path.exists(os.path.join(spool, m["id"] + ext)), "deleted message's %s still there" % ext)
    # Daemon stopped: ternctl works on the spool directly.
    left = listed(d)
    check(len(left) == 1, left)
    queue(d, "hold", left[0]["id"])
    d2 = Daemon(LISTEN + QUEUE, tmp=d.tmp)
    with d2.start():
        d2.wait_log(r"queue\.opened .*messages=1")
        msgs = listed(d2)
        check(len(msgs) == 1 and msgs[0]["id"] == left[0]["id"] and msgs[0]["held"], msgs)
        out = json.loads(queue(d2, "delete", left[0]["id"], "--json"))
        check(out["ok"] is True, out)
        check(listed(d2) == [], listed(d2))


def test_expiry_bounces_to_the_local_sender_mailbox():
    d = Daemon(LISTEN + '\n[queue]\nmax_age = "2s"\nretry_schedule = ["1s"]\ncontrol_poll = "100ms"\n' + ROUTE)
    setup(d)
    with d.start():
        submit(d)
        d.wait_log(r"queue\.expired .*rcpt=bob@remote\.test", timeout=15)
        d.wait_log(r"queue\.bounced .*to=alice@example\.test")
        d.wait_log(r"queue\.delivered .*rcpt=alice@example\.test")
        new = os.path.join(d.tmp, "data", "mail", "example.test", "alice", "new")
        files = os.listdir(new)
        check(len(files) == 1, files)
        with open(os.path.join(new, files[0]), "rb") as f:
            raw = f.read()
        check(raw.startswith(b"Return-Path: <>\r\n") or raw.startswith(b"Return-Path: <>\n"), raw[:100])
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        check(msg.get_content_type() == "multipart/report", msg.get_content_type())
        check(msg["From"].addresses[0].addr_spec == "MAILER-DAEMON@mail.example.test", msg["From"])
        parts = msg.get_payload()
        check([p.get_content_type() for p in parts] == ["text/plain", "message/delivery-status", "text/rfc822-headers"],
              [p.get_content_type() for p in parts])
        fields = parts[1].get_payload()
        check(fields[0]["Original-Envelope-Id"] == "env-1", fields[0].items())
        check(fields[1]["Action"] == "failed" and fields[1]["Status"] == "4.4.7", fields[1].items())
        check(fields[1]["Original-Recipient"] == "rfc822; bob@remote.test", fields[1].items())
        check("127.0.0.1]:9 failed" in fields[1]["Diagnostic-Code"], fields[1].items())
        check(listed(d) == [], listed(d))


def test_unauthenticated_relay_is_still_refused():
    d = Daemon(LISTEN + QUEUE)
    setup(d)
    with d.start():
        s = smtplib.SMTP("127.0.0.1", d.port("smtp"), timeout=10)
        s.ehlo("client.test")
        s.mail("carol@remote.test")
        code, msg = s.rcpt("victim@elsewhere.test")
        check(code == 554 and msg.startswith(b"5.7.1"), (code, msg))
        s.quit()
        check(listed(d) == [], listed(d))


if __name__ == "__main__":
    run_tests([test_submission_to_a_remote_address_is_queued_and_managed_with_ternctl,
               test_expiry_bounces_to_the_local_sender_mailbox, test_unauthenticated_relay_is_still_refused])
