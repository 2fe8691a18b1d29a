#!/usr/bin/python3
"""Integration test of the LDAP directory backend against a real OpenLDAP slapd.

Builds a private slapd.conf (schemas + tests/directory/ldap/tern.schema, back_mdb, a self-signed
certificate for StartTLS/LDAPS), loads tests/directory/ldap/cloudron.ldif with slapadd, starts slapd
on ephemeral loopback ports, then runs the Boost test executable given as argument against it."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def main():
    test_exe = sys.argv[1]
    for tool in (SLAPD, SLAPADD, "openssl"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} not found: install slapd and openssl (scripts/deps)", file=sys.stderr)
            return 77  # meson: skipped
    tmp = tempfile.mkdtemp(prefix="tern-slapd-")
    proc = None
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-keyout", f"{tmp}/key.pem", "-out", f"{tmp}/cert.pem", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        os.mkdir(f"{tmp}/db")
        conf = f"""include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/misc.schema
include {HERE}/ldap/tern.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {tmp}/slapd.pid
TLSCertificateFile {tmp}/cert.pem
TLSCertificateKeyFile {tmp}/key.pem
database mdb
suffix "dc=cloudron"
rootdn "cn=admin,dc=cloudron"
rootpw admin-secret
directory {tmp}/db
maxsize 10485760
"""
        with open(f"{tmp}/slapd.conf", "w") as f:
            f.write(conf)
        load = subprocess.run([SLAPADD, "-f", f"{tmp}/slapd.conf", "-l", f"{HERE}/ldap/cloudron.ldif"],
                              capture_output=True, text=True)
        if load.returncode != 0:
            print("slapadd failed:\n" + load.stderr, file=sys.stderr)
            return 1
        ldap_port, ldaps_port = free_port(), free_port()
        proc = subprocess.Popen([SLAPD, "-f", f"{tmp}/slapd.conf", "-d", "0",
                                 "-h", f"ldap://127.0.0.1:{ldap_port}/ ldaps://127.0.0.1:{ldaps_port}/"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not wait_port(ldap_port, proc) or not wait_port(ldaps_port, proc):
            err = proc.stderr.read().decode() if proc.poll() is not None else "timeout"
            print("slapd did not start: " + err, file=sys.stderr)
            return 1
        env = dict(os.environ,
                   TERN_LDAP_URI=f"ldap://127.0.0.1:{ldap_port}",
                   TERN_LDAPS_URI=f"ldaps://127.0.0.1:{ldaps_port}",
                   TERN_LDAP_CA=f"{tmp}/cert.pem",
                   TERN_LDAP_BASE="dc=cloudron",
                   TERN_LDAP_BIND_DN="cn=admin,dc=cloudron",
                   TERN_LDAP_BIND_PW="admin-secret")
        return subprocess.run([test_exe, "--log_level=test_suite"], env=env).returncode
    finally:
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
