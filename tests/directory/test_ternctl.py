#!/usr/bin/python3
"""ternctl round-trips for the directory groups: drives the built binary against a temporary
config and data dir, checks output (human and --json), exit codes (0 ok, 1 failed, 2 usage), the
file it writes, and that stored password hashes verify with Dovecot's own `doveadm pw -t`."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

TERNCTL = sys.argv.pop(1) if len(sys.argv) > 1 else os.environ.get("TERNCTL", "ternctl")


class TernctlDirectory(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tern-ctl-")
        self.config = os.path.join(self.dir, "tern.toml")
        with open(self.config, "w") as f:
            f.write('[server]\ndata_dir = "data"\n\n[directory]\ndms_dir = "dms"\n\n'
                    '[auth]\npassword_scheme = "SHA512-CRYPT"\n')
        os.mkdir(os.path.join(self.dir, "dms"))
        self.toml = os.path.join(self.dir, "data", "directory", "directory.toml")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def read_toml(self):
        with open(self.toml) as f:
            return f.read()

    def ctl(self, *args, stdin=None, expect=0):
        p = subprocess.run([TERNCTL, "--config", self.config, *args], input=stdin, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, expect, f"ternctl {' '.join(args)}: rc={p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    def js(self, *args):
        return json.loads(self.ctl("--json", *args).stdout)

    def test_domains(self):
        self.ctl("domain", "add", "Example.COM")
        self.ctl("domain", "add", "off.example", "--no-incoming")
        self.assertIn("exists already", self.ctl("domain", "add", "example.com", expect=1).stderr)
        self.assertIn("at least two labels", self.ctl("domain", "add", "localhost", expect=1).stderr)
        domains = self.js("domain", "list")
        self.assertEqual([(d["name"], d["incoming"]) for d in domains], [("example.com", True), ("off.example", False)])
        self.ctl("domain", "catch-all", "example.com", "postmaster@example.com")
        self.assertEqual(self.js("domain", "list")[0]["catch_all"], ["postmaster@example.com"])
        self.ctl("domain", "del", "off.example")
        self.assertEqual(self.ctl("domain", "list").stdout.split(), ["example.com", "catch-all:", "postmaster@example.com"])
        self.ctl("domain", expect=2)
        self.ctl("domain", "frobnicate", expect=2)

    def test_users_and_passwords(self):
        self.ctl("domain", "add", "example.com")
        out = self.ctl("user", "add", "alice@example.com", stdin="first secret\n")
        self.assertIn("alice@example.com", out.stdout)
        self.assertNotIn("first secret", self.read_toml())
        # The stored hash is a Dovecot {SHA512-CRYPT} hash that Dovecot itself accepts.
        hash_line = [l for l in self.read_toml().splitlines() if l.startswith("password = ")][0]
        stored = hash_line.split("=", 1)[1].strip().strip('"')
        self.assertTrue(stored.startswith("{SHA512-CRYPT}$6$"), stored)
        if shutil.which("doveadm"):
            ok = subprocess.run(["doveadm", "pw", "-t", stored, "-p", "first secret"], capture_output=True, text=True)
            self.assertEqual(ok.returncode, 0, ok.stderr)
            bad = subprocess.run(["doveadm", "pw", "-t", stored, "-p", "wrong"], capture_output=True, text=True)
            self.assertNotEqual(bad.returncode, 0)
        self.ctl("user", "passwd", "alice@example.com", stdin="second secret\n")
        self.assertNotIn(stored, self.read_toml())
        # Name rules, unknown domain, no password, duplicate.
        self.assertIn("subaddress separator", self.ctl("user", "add", "a+b@example.com", stdin="x\n", expect=1).stderr)
        self.assertIn("reserved for applications", self.ctl("user", "add", "wp.app@example.com", stdin="x\n", expect=1).stderr)
        self.assertIn("not in the directory", self.ctl("user", "add", "bob@other.org", stdin="x\n", expect=1).stderr)
        self.assertIn("no password", self.ctl("user", "add", "bob@example.com", stdin="", expect=1).stderr)
        self.ctl("user", "add", "alice@example.com", stdin="x\n", expect=1)
        # A password on the command line is a usage error, not a password.
        self.ctl("user", "add", "bob@example.com", "--password", "x", expect=2)
        self.ctl("user", "add", "bob@example.com", stdin="bob pw\n")
        users = self.js("user", "list")
        self.assertEqual([u["address"] for u in users], ["alice@example.com", "bob@example.com"])
        self.ctl("user", "del", "bob@example.com")
        self.assertEqual(self.ctl("user", "list").stdout.split(), ["alice@example.com"])
        self.ctl("user", "del", "bob@example.com", expect=1)

    def test_aliases_and_lists(self):
        self.ctl("domain", "add", "example.com")
        self.ctl("domain", "add", "other.org")
        self.ctl("user", "add", "alice@example.com", stdin="pw\n")
        self.ctl("alias", "add", "info@example.com", "alice@example.com")
        self.ctl("alias", "add", "sales-*@other.org", "alice@example.com", "boss@gmail.com")
        self.assertIn("conflicts with a mailbox", self.ctl("alias", "add", "alice@example.com", "x@y.org", expect=1).stderr)
        aliases = self.js("alias", "list")
        self.assertEqual(aliases, [{"alias": "info@example.com", "targets": ["alice@example.com"]},
                                   {"alias": "sales-*@other.org", "targets": ["alice@example.com", "boss@gmail.com"]}])
        self.assertEqual(len(self.js("alias", "list", "other.org")), 1)
        self.ctl("alias", "del", "info@example.com")
        self.ctl("alias", "del", "info@example.com", expect=1)
        self.ctl("alias", "add", "x@example.com", expect=2)

        self.ctl("list", "add", "team@example.com", "--members-only", "alice@example.com", "ext@partner.net")
        self.ctl("list", "members", "team@example.com", "--add", "carol@example.com")
        self.ctl("list", "members", "team@example.com", "--remove", "ext@partner.net")
        got = self.js("list", "members", "team@example.com")
        self.assertEqual(got, {"list": "team@example.com", "members_only": True,
                               "members": ["alice@example.com", "carol@example.com"]})
        self.assertIn("is already a list", self.ctl("user", "add", "team@example.com", stdin="x\n", expect=1).stderr)
        self.ctl("list", "del", "team@example.com")
        self.ctl("list", "members", "team@example.com", expect=1)

    def test_mailbox_import_export(self):
        csv_in = ("name,domain,owner,owner type,aliases,active\n"
                  "girish,example.com,girish,user,gk@example.com g@other.org,true\n"
                  "support,example.com,girish,user,,false\n")
        path = os.path.join(self.dir, "in.csv")
        with open(path, "w") as f:
            f.write(csv_in)
        self.assertIn("2 mailbox(es) imported", self.ctl("mailbox", "import", "--format", "csv", path).stdout)
        self.assertEqual(self.ctl("mailbox", "export", "--format", "csv").stdout, csv_in)
        exported = json.loads(self.ctl("mailbox", "export", "--format=json").stdout)
        self.assertEqual(exported[0], {"name": "girish", "domain": "example.com", "owner": "girish", "ownerType": "user",
                                       "aliases": [{"name": "gk", "domain": "example.com"},
                                                   {"name": "g", "domain": "other.org"}],
                                       "active": True})
        # JSON from stdin into a fresh directory gives the same export.
        shutil.rmtree(os.path.join(self.dir, "data"))
        self.ctl("mailbox", "import", "--format", "json", stdin=json.dumps(exported))
        self.assertEqual(self.ctl("mailbox", "export", "--format", "csv").stdout, csv_in)
        # All or nothing: a bad record leaves the directory unchanged.
        before = self.read_toml()
        err = self.ctl("mailbox", "import", "--format", "csv", stdin="ok,example.com,ok,user\nb+d,example.com,x,user\n",
                       expect=1).stderr
        self.assertIn("record 2", err)
        self.assertEqual(self.read_toml(), before)
        self.ctl("mailbox", "export", expect=2)
        self.ctl("mailbox", "export", "--format", "xml", expect=2)

    def test_docker_mailserver_files_are_listed(self):
        with open(os.path.join(self.dir, "dms", "postfix-accounts.cf"), "w") as f:
            f.write("user1@example.com|{SHA512-CRYPT}$6$2YpW1nYtPBs2yLYS$z.5PGH1OEzsHHNhl3gJrc3D.YMZkvKw/vp.r5WIiwya6z7P/"
                    "CQ9GDEJDr2G2V0cAfjDFeAQPUoopsuWPXLk3u1\n")
        with open(os.path.join(self.dir, "dms", "postfix-virtual.cf"), "w") as f:
            f.write("alias1@example.com user1@example.com\n@example.com user1@example.com\n")
        self.assertEqual([u["address"] for u in self.js("user", "list")], ["user1@example.com"])
        self.assertEqual(self.js("alias", "list"), [{"alias": "alias1@example.com", "targets": ["user1@example.com"]}])
        self.assertEqual(self.js("domain", "list")[0]["catch_all"], ["user1@example.com"])

    def test_broken_config_is_reported(self):
        with open(self.config, "a") as f:
            f.write('\n[directory.ldap]\nbase_dn = "dc=x"\nfoo = 1\n')
        err = self.ctl("domain", "list", expect=1).stderr
        self.assertIn("foo", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
