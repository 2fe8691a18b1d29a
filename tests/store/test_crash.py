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

# Expunge and flag-change loop: SIGKILL at random moments. Every acknowledged expunge stays expunged (no
# resurrection), every acknowledged append not expunged since is present once with its UID, flags are the
# last acknowledged set (or the one in flight at the kill), HIGHESTMODSEQ never goes below an acknowledged
# MODSEQ, and the uidlist never gives one file two UIDs.
import json
tool = sys.argv[2]
data = tempfile.mkdtemp(prefix="tern-crash-mix-")
user = "mix@example.org"
present = {}      # uid -> id (acknowledged appends, not acknowledged as expunged)
expunged = set()  # acknowledged expunges
maybe_gone = set()  # expunges in flight at a kill
flags = {}        # uid -> set of possible masks
max_modseq = 0
next_id = 1
kills = 0
unacked_appends = 0
for round_ in range(8):
    p = subprocess.Popen([helper, data, user, str(next_id), "mix"], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    time.sleep(random.uniform(0.2, 0.7))
    p.send_signal(signal.SIGKILL)
    out, _ = p.communicate()
    kills += 1
    inflight = None
    for line in out.splitlines():
        t = line.split()
        if not t:
            continue
        if t[0] in ("a", "f", "e"):
            inflight = t
        elif t[0] == "A":
            present[int(t[2])] = int(t[1]); flags[int(t[2])] = {0}; max_modseq = max(max_modseq, int(t[3])); inflight = None
        elif t[0] == "F":
            if int(t[1]) in present:
                flags[int(t[1])] = {int(t[2])}
            max_modseq = max(max_modseq, int(t[3])); inflight = None
        elif t[0] == "E":
            uid = int(t[1]); present.pop(uid, None); expunged.add(uid); max_modseq = max(max_modseq, int(t[2])); inflight = None
    if inflight and inflight[0] == "f" and int(inflight[1]) in flags:
        flags[int(inflight[1])].add(int(inflight[2]))
    if inflight and inflight[0] == "e":
        maybe_gone.add(int(inflight[1]))
    if inflight and inflight[0] == "a":
        unacked_appends += 1  # may or may not have been stored
    next_id += 100000
assert present and expunged, (len(present), len(expunged))
r = subprocess.run([tool, data, user, "list", "INBOX"], capture_output=True, text=True, check=True)
view = [json.loads(l) for l in r.stdout.splitlines()]
seen = {m["uid"]: m for m in view[1:]}
for uid in expunged:
    assert uid not in seen, f"acknowledged expunge of UID {uid} was undone"
names = {"\\Seen": 1, "\\Flagged": 2, "$Crash": 4, "Work": 8}
for uid, i in present.items():
    if uid in maybe_gone and uid not in seen:
        continue
    assert uid in seen, f"acknowledged message {i} (UID {uid}) lost"
    mask = sum(names.get(f, 0) for f in seen[uid]["flags"])
    assert mask in flags[uid], f"UID {uid} has flags {seen[uid]['flags']} (mask {mask}), acknowledged {flags[uid]}"
extra = set(seen) - set(present) - maybe_gone
assert len(extra) <= unacked_appends, f"messages nobody acknowledged: {sorted(extra)[:10]} ({unacked_appends} appends were in flight)"
root = os.path.join(data, "mail/example.org/mix")
bases = {}
with open(os.path.join(root, "dovecot-uidlist")) as f:
    f.readline()
    for l in f:
        uid, name = l.rstrip("\n").split(" :", 1)
        assert name not in bases or bases[name] == uid, f"{name} has UIDs {bases[name]} and {uid}"
        bases[name] = uid
# MODSEQ survives the kills (the SQLite index is written before an operation returns).
assert view[0]["highestmodseq"] >= max_modseq, (view[0], max_modseq)
print(f"ok: {len(present)} messages, {len(expunged)} acknowledged expunges over {kills} kills: none lost, none resurrected, flags as acknowledged")
subprocess.run(["rm", "-rf", data])
