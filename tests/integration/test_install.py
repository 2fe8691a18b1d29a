"""`meson install` yields a usable SDK: headers, libtern (shared and static), tern.pc, binaries, the systemd
unit; examples/embed_minimal.cpp builds against the installed tree with pkg-config alone, and runs."""
import glob
import os
import subprocess
import tempfile

from ternlib import BUILD, check, run_tests

SOURCE = os.environ.get("TERN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
DEST = tempfile.mkdtemp(prefix="tern-install-")


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


run_tests([test_install_lays_out_the_sdk, test_example_builds_against_installed_tree_and_runs])
