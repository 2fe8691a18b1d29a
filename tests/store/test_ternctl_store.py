#!/usr/bin/python3
"""`ternctl mailbox check|reindex USER` (and `ternctl store ...`) through the built binary on a Maildir written
the way Dovecot writes one: check gives another MDA's file a UID; reindex rebuilds a destroyed index and keeps
every UID and the UIDVALIDITY; exit codes 0 ok, 1 failed, 2 usage."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

TERNCTL = sys.argv.pop(1) if len(sys.argv) > 1 else os.environ.get("TERNCTL", "ternctl")
USER = "alice@example.org"


class TernctlStore(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tern-ctl-store-")
        self.config = os.path.join(self.dir, "tern.toml")
        with open(self.config, "w") as f:
            f.write('[server]\ndata_dir = "data"\n')
        self.box = os.path.join(self.dir, "data", "mail", "example.org", "alice")
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.box, d))
        # As Dovecot leaves it: three messages, two read in cur/ (one answered), one in new/.
        self.bases = ["1700000001.M1P1.host,S=%d" % len(self.msg(1)), "1700000002.M2P1.host,S=%d" % len(self.msg(2)),
                      "1700000003.M3P1.host,S=%d" % len(self.msg(3))]
        for name, n in ((self.bases[0] + ":2,S", 1), (self.bases[1] + ":2,RS", 2)):
            self.write(os.path.join(self.box, "cur", name), self.msg(n))
        self.write(os.path.join(self.box, "new", self.bases[2]), self.msg(3))
        uidlist = "3 V1700000000 N4 G0123456789abcdef0123456789abcdef\n"
        uidlist += "".join("%d :%s\n" % (i + 1, b) for i, b in enumerate(self.bases))
        self.write(os.path.join(self.box, "dovecot-uidlist"), uidlist)

    def tearDown(self):
        shutil.rmtree(self.dir)

    @staticmethod
    def msg(n):
        return "From: a@example.org\r\nSubject: message %d\r\n\r\nbody %d\r\n" % (n, n)

    @staticmethod
    def write(path, text):
        with open(path, "w", newline="") as f:
            f.write(text)

    def ctl(self, *args, expect=0):
        p = subprocess.run([TERNCTL, "--config", self.config, *args], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, expect, f"ternctl {' '.join(args)}: rc={p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    def inbox(self, *args):
        lines = [json.loads(l) for l in self.ctl("--json", *args).stdout.splitlines() if l.strip()]
        return next(l for l in lines if l["mailbox"] == "INBOX")

    def uids(self):
        with open(os.path.join(self.box, "dovecot-uidlist")) as f:
            rows = f.read().splitlines()[1:]
        return {r.split(" :", 1)[1]: int(r.split(" ", 1)[0]) for r in rows}

    def test_check_then_reindex_keeps_uids(self):
        inbox = self.inbox("mailbox", "check", USER)
        self.assertEqual((inbox["uidvalidity"], inbox["uidnext"], inbox["messages"]), (1700000000, 4, 3))
        # Another MDA delivers: check gives the file the next UID, written to the uidlist.
        fourth = "1700000004.M4P1.other,S=%d" % len(self.msg(4))
        self.write(os.path.join(self.box, "new", fourth), self.msg(4))
        inbox = self.inbox("mailbox", "check", USER)
        self.assertEqual((inbox["uidnext"], inbox["messages"]), (5, 4))
        self.assertEqual(self.uids(), {self.bases[0]: 1, self.bases[1]: 2, self.bases[2]: 3, fourth: 4})
        # The index destroyed: reindex rebuilds it from the Maildir with the same UIDs and UIDVALIDITY.
        self.write(os.path.join(self.box, "tern-index.sqlite"), "not a database at all\n" * 100)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(os.path.join(self.box, "tern-index.sqlite" + suffix)):
                os.remove(os.path.join(self.box, "tern-index.sqlite" + suffix))
        inbox = self.inbox("mailbox", "reindex", USER)
        self.assertEqual((inbox["uidvalidity"], inbox["uidnext"], inbox["messages"]), (1700000000, 5, 4))
        self.assertEqual(self.uids(), {self.bases[0]: 1, self.bases[1]: 2, self.bases[2]: 3, fourth: 4})
        # The same through the store group; human output names the mailbox and its counts.
        out = self.ctl("store", "reindex", USER).stdout
        self.assertRegex(out, r"INBOX\s+uidvalidity 1700000000 uidnext 5 messages 4")

    def test_usage_and_failures(self):
        self.ctl("mailbox", "reindex", expect=2)
        self.ctl("mailbox", "check", USER, "extra", expect=2)
        self.ctl("store", "frobnicate", USER, expect=2)
        self.assertIn("usage", self.ctl("mailbox", "check", expect=2).stderr)
        self.ctl("mailbox", "check", "not-an-address", expect=1)


if __name__ == "__main__":
    unittest.main()
