"""The daemons' command line: --check reports every config error as FILE:LINE: key: message, exit 2."""
import os
import subprocess
import tempfile

from ternlib import binary, check, make_cert, run_tests


def write(tmp, text):
    path = os.path.join(tmp, "tern.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def run(program, *args):
    return subprocess.run([binary(program), *args], capture_output=True, text=True, timeout=30)


def test_check_reports_every_error_with_file_line_and_key():
    tmp = tempfile.mkdtemp(prefix="tern-it-")
    path = write(tmp, '[server]\nhostname = "mx.example.test"\nhostnme = "typo"\n\n'
                      '[[listen]]\nservice = "smtp"\naddress = "127.0.0.1:99999"\n\n'
                      '[[listen]]\nservice = "gopher"\naddress = "127.0.0.1:7070"\n\n'
                      '[limits]\nmax_connections = 0\n')
    r = run("tern-maild", "--config", path, "--check")
    check(r.returncode == 2, "exit code %d, want 2; stderr:\n%s" % (r.returncode, r.stderr))
    lines = r.stderr.strip().splitlines()
    for want in [path + ":3: server.hostnme: unknown key",
                 path + ":7: listen[1].address: '127.0.0.1:99999' has an invalid port",
                 path + ":9: listen[2].service: unknown service 'gopher'",
                 path + ":14: limits.max_connections: must be between 1 and 1000000 (got 0)"]:
        check(any(l.startswith(want) for l in lines), "missing %r in:\n%s" % (want, r.stderr))


def test_check_reports_toml_syntax_errors_with_line():
    tmp = tempfile.mkdtemp(prefix="tern-it-")
    path = write(tmp, '[server]\nhostname = "a"\n[[listen]\n')
    r = run("tern-maild", "--config", path, "--check")
    check(r.returncode == 2, "exit code %d, want 2" % r.returncode)
    check(r.stderr.startswith(path + ":3:"), "want an error on line 3, got:\n" + r.stderr)


def test_check_accepts_a_valid_config():
    tmp = tempfile.mkdtemp(prefix="tern-it-")
    make_cert(tmp, "mx.example.test", "cert")
    services = run("tern-maild", "--services").stdout.split()
    listen = "".join('\n[[listen]]\nservice = "%s"\naddress = "127.0.0.1:0"\n' % s for s in services[:2])
    path = write(tmp, '[server]\nhostname = "mx.example.test"\n[tls]\ncert = "cert.pem"\nkey = "cert.key"\n' + listen)
    if not services:  # nothing to serve yet: --check must say so, naming the key
        r = run("tern-maild", "--config", path, "--check")
        check(r.returncode == 2 and "listen: no [[listen]] block" in r.stderr, r.stderr)
        return
    r = run("tern-maild", "--config", path, "--check")
    check(r.returncode == 0 and r.stderr == "", "valid config rejected (%d): %s" % (r.returncode, r.stderr))


def test_missing_certificate_is_a_config_error():
    tmp = tempfile.mkdtemp(prefix="tern-it-")
    path = write(tmp, '[server]\nhostname = "mx.example.test"\n[tls]\ncert = "nope.pem"\nkey = "nope.key"\n'
                      '[[listen]]\nservice = "submissions"\naddress = "127.0.0.1:0"\n')
    r = run("tern-maild", "--config", path, "--check")
    check(r.returncode == 2, "exit %d" % r.returncode)
    check("tls: cannot load certificate" in r.stderr and "nope.pem" in r.stderr, r.stderr)


def test_unknown_arguments_are_usage_errors():
    r = run("tern-smtpd", "--frobnicate")
    check(r.returncode == 2 and "unknown argument" in r.stderr, r.stderr)
    r = run("tern-imapd", "--help")
    check(r.returncode == 0 and "--check" in r.stdout, r.stdout)


run_tests([test_check_reports_every_error_with_file_line_and_key, test_check_reports_toml_syntax_errors_with_line,
           test_check_accepts_a_valid_config, test_missing_certificate_is_a_config_error,
           test_unknown_arguments_are_usage_errors])
