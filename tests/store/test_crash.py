#!/usr/bin/python3
"""Crash test: SIGKILL a delivering process at random points; every acknowledged message is stored exactly once,
UIDs stay unique and the store opens cleanly afterwards."""
import os, random, re, signal, subprocess, sys, tempfile, time

helper = sys.argv[1]
data = tempfile.mkdtemp(prefix="tern-crash-")
acked = {}
next_id = 1
for round_ in range(6):
    p = subprocess.Popen([helper, data, "crash@example.org", str(next_id)], stdout=subprocess.PIPE, text=True)
    first = p.stdout.readline()  # opened (after any stale lock of the previous kill was recovered)
    time.sleep(random.uniform(0.1, 0.8))
    p.send_signal(signal.SIGKILL)
    out, _ = p.communicate()
    out = first + out
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2:
            acked[int(parts[0])] = int(parts[1])
    next_id = (max(acked) if acked else next_id) + 1000
assert acked, "no message was acknowledged"
# Reopen through the store (one delivery more proves it opens and assigns a fresh UID), then read the files.
p = subprocess.Popen([helper, data, "crash@example.org", str(next_id)], stdout=subprocess.PIPE, text=True)
line = p.stdout.readline()
p.kill(); p.communicate()
assert line.strip(), "store did not open after the crashes"
root = os.path.join(data, "mail/example.org/crash")
ids = {}
for sub in ("cur", "new"):
    for name in os.listdir(os.path.join(root, sub)):
        with open(os.path.join(root, sub, name), "rb") as f:
            m = re.match(rb"Message-ID: <(\d+)@crash>", f.read())
        assert m, name
        ids.setdefault(int(m.group(1)), []).append(name)
for i, uid in acked.items():
    assert i in ids, f"acknowledged message {i} (UID {uid}) lost"
    assert len(ids[i]) == 1, f"message {i} stored {len(ids[i])} times"
uids = {}
with open(os.path.join(root, "dovecot-uidlist")) as f:
    header = f.readline()
    assert header.startswith("3 V"), header
    for l in f:
        uid, name = l.split(" :", 1)
        assert uid not in uids, f"UID {uid} twice in uidlist"
        uids[uid] = name.strip()
byname = {v: int(k) for k, v in uids.items()}
for i, uid in acked.items():
    base = ids[i][0].split(":")[0]
    assert byname.get(base) == uid, f"message {i} acknowledged as UID {uid}, uidlist says {byname.get(base)}"
print(f"ok: {len(acked)} acknowledged messages over 6 kills, all present once with their UIDs")
subprocess.run(["rm", "-rf", data])
