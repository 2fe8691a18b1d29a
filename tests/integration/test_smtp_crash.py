"""Every message acknowledged with 250 survives kill -9: senders deliver in a loop while the daemon is
SIGKILLed at random moments; afterwards each acknowledged message is in the Maildir exactly once."""
import glob
import os
import random
import signal
import smtplib
import threading
import time

from ternlib import Daemon, check, run_tests, ternctl

LISTEN = '\n[[listen]]\nservice = "smtp"\naddress = "127.0.0.1:0"\n'


def test_acknowledged_messages_survive_sigkill():
    d = Daemon(LISTEN)
    check(ternctl(d.config, "domain", "add", "example.test").returncode == 0, "domain add failed")
    check(ternctl(d.config, "user", "add", "alice@example.test", stdin="pw-alice-12345\n").returncode == 0, "user add")
    acked = set()
    lock = threading.Lock()
    rng = random.Random(20261123)
    for round_ in range(4):
        d.proc = None
        d.ports = {}
        d.log_lines = []
        d.start()
        port = d.port("smtp")
        stop = threading.Event()

        def sender(worker):
            n = 0
            while not stop.is_set():
                try:
                    s = smtplib.SMTP("127.0.0.1", port, timeout=5)
                    while not stop.is_set():
                        tag = "r%d-w%d-m%d" % (round_, worker, n)
                        n += 1
                        s.sendmail("carol@remote.test", ["alice@example.test"], "Subject: %s\r\n\r\n%s\r\n" % (tag, tag))
                        with lock:
                            acked.add(tag)  # only after the 250
                except (OSError, smtplib.SMTPException):
                    time.sleep(0.01)

        threads = [threading.Thread(target=sender, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.3 + rng.random() * 0.7)
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        stop.set()
        for t in threads:
            t.join()
    check(len(acked) > 20, "too few messages were sent to prove anything (%d)" % len(acked))
    maildir = os.path.join(d.tmp, "data", "mail", "example.test", "alice")
    stored = {}
    for path in glob.glob(os.path.join(maildir, "new", "*")) + glob.glob(os.path.join(maildir, "cur", "*")):
        with open(path) as f:
            for line in f:
                if line.startswith("Subject: "):
                    tag = line.split(":", 1)[1].strip()
                    stored[tag] = stored.get(tag, 0) + 1
                    break
    missing = acked - set(stored)
    check(not missing, "%d acknowledged messages lost, e.g. %s" % (len(missing), sorted(missing)[:5]))
    dupes = [t for t, c in stored.items() if c > 1]
    check(not dupes, "messages stored twice: %s" % dupes[:5])
    leftovers = os.listdir(os.path.join(maildir, "tmp"))
    print("acknowledged %d, stored %d, half-written files left in tmp/: %d" % (len(acked), len(stored), len(leftovers)))


run_tests([test_acknowledged_messages_survive_sigkill])
