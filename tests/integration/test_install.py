"""`meson install` yields a usable SDK: headers, libtern (shared and static), tern.pc, binaries, the systemd
unit; examples/embed_minimal.cpp builds against the installed tree with pkg-config alone, and runs."""
import atexit
import glob
import os
import shutil
import subprocess
import tempfile

from ternlib import BUILD, check, run_tests

SOURCE = os.environ.get("TERN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
DEST = tempfile.mkdtemp(prefix="tern-install-")
atexit.register(shutil.rmtree, DEST, ignore_errors=True)  # ~1 GB per run (a debug libtern, twice)


def installed(pattern):
    return glob.glob(os.path.join(DEST, "**", pattern), recursive=True)


def test_install_lays_out_the_sdk():
    r = subprocess.run(["meson", "install", "-C", BUILD, "--no-rebuild", "--destdir", DEST, "--quiet"],
                       capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, "meson install failed:\n" + r.stdout + r.stderr)
    for want in ["libtern.so.0", "libtern.a", "tern.pc", "tern-maild", "tern-smtpd", "tern-imapd", "ternctl",
                 "tern-maild.service", "server.hpp", "version.hpp", "tern.example.toml"]:
        check(installed(want), "not installed: " + want)


def test_example_builds_against_installed_tree_and_runs():
    pcdir = os.path.dirname(installed("tern.pc")[0])
    env = dict(os.environ, PKG_CONFIG_PATH=pcdir, PKG_CONFIG_SYSROOT_DIR=DEST)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "tern"], capture_output=True, text=True, env=env)
    check(flags.returncode == 0, "pkg-config failed: " + flags.stderr)
    check(DEST in flags.stdout, "pkg-config flags do not point into the installed tree: " + flags.stdout)
    exe = os.path.join(DEST, "embed_minimal")
    sanitize = os.environ.get("TERN_SANITIZE", "none")
    extra = [] if sanitize in ("", "none") else ["-fsanitize=" + sanitize]  # match a sanitizer build of libtern
    cc = subprocess.run(["c++", "-std=c++20", os.path.join(SOURCE, "examples", "embed_minimal.cpp"), "-o", exe,
                         *extra, *flags.stdout.split()], capture_output=True, text=True, timeout=600)
    check(cc.returncode == 0, "example did not compile:\n" + cc.stderr[-3000:])
    libdir = os.path.dirname(installed("libtern.so.0")[0])
    run = subprocess.run([exe], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, LD_LIBRARY_PATH=libdir))
    check(run.returncode == 0, "example failed (%d):\n%s%s" % (run.returncode, run.stdout, run.stderr))
    check("server said: hello from an embedded Tern" in run.stdout, run.stdout)
    # It must really use the installed library, not one from the build tree.
    ldd = subprocess.run(["ldd", exe], capture_output=True, text=True, env=dict(os.environ, LD_LIBRARY_PATH=libdir))
    check(libdir in ldd.stdout, "example is not linked to the installed libtern:\n" + ldd.stdout)


def build_example(name):
    pcdir = os.path.dirname(installed("tern.pc")[0])
    env = dict(os.environ, PKG_CONFIG_PATH=pcdir, PKG_CONFIG_SYSROOT_DIR=DEST)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "tern"], capture_output=True, text=True, env=env)
    exe = os.path.join(DEST, name)
    sanitize = os.environ.get("TERN_SANITIZE", "none")
    extra = [] if sanitize in ("", "none") else ["-fsanitize=" + sanitize]
    cc = subprocess.run(["c++", "-std=c++20", os.path.join(SOURCE, "examples", name + ".cpp"), "-o", exe, *extra,
                         *flags.stdout.split()], capture_output=True, text=True, timeout=600)
    check(cc.returncode == 0, "%s did not compile:\n%s" % (name, cc.stderr[-3000:]))
    return exe


def test_hooks_example_rejects_a_recipient_and_adds_a_header():
    import smtplib
    exe = build_example("smtp_hooks")
    data = tempfile.mkdtemp(prefix="tern-hooks-")
    atexit.register(shutil.rmtree, data, ignore_errors=True)
    with open(os.path.join(data, "tern.toml"), "w") as f:
        f.write('[server]\ndata_dir = "."\n')
    ternctl_bin = installed("ternctl")[0]
    lib = dict(os.environ, LD_LIBRARY_PATH=os.path.dirname(installed("libtern.so.0")[0]))
    for args, stdin in ((["domain", "add", "example.test"], None), (["user", "add", "ceo@example.test"], "pw-ceo-12345\n"),
                        (["user", "add", "ann@example.test"], "pw-ann-12345\n")):
        r = subprocess.run([ternctl_bin, "--config", os.path.join(data, "tern.toml"), *args], input=stdin,
                           capture_output=True, text=True, env=lib)
        check(r.returncode == 0, "installed ternctl %s: %s" % (args, r.stderr))
    libdir = os.path.dirname(installed("libtern.so.0")[0])
    proc = subprocess.Popen([exe, data], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, LD_LIBRARY_PATH=libdir))
    try:
        first = proc.stdout.readline()
        check(first.startswith("listening on "), "example did not start: %r %s" % (first, proc.stderr.read(2000) if proc.poll() is not None else ""))
        port = int(first.split()[-1])
        s = smtplib.SMTP("127.0.0.1", port, timeout=10)
        s.ehlo("client.test")
        s.mail("x@remote.test")
        code, msg = s.rcpt("ceo@example.test")
        check(code == 550 and b"5.7.1 The CEO does not take mail from strangers" in msg, (code, msg))
        code, msg = s.rcpt("ann@example.test")
        check(code == 250, (code, msg))
        code, msg = s.data("Subject: hi\r\n\r\nhello\r\n")
        check(code == 250, (code, msg))
        s.quit()
        files = glob.glob(os.path.join(data, "mail", "example.test", "ann", "new", "*"))
        check(len(files) == 1, "message not delivered: %r" % files)
        text = open(files[0]).read()
        check("X-Host-Checked: yes; session=" in text, text[:500])
    finally:
        proc.stdin.close()
        proc.wait(30)
    check(proc.returncode == 0, "example exited with %s" % proc.returncode)


run_tests([test_install_lays_out_the_sdk, test_example_builds_against_installed_tree_and_runs,
           test_hooks_example_rejects_a_recipient_and_adds_a_header])
