#!/usr/bin/python3
"""Crash test: SIGKILL a process that enqueues and delivers at random moments, restart it, drain the queue.
Every acknowledged message reaches both recipients; a delivery recorded as done is never repeated after a
restart; a repeat happens only for a delivery that was in flight (not yet recorded) when the process died."""
import collections, os, random, signal, subprocess, sys, tempfile, time

helper = sys.argv[1]
work = tempfile.mkdtemp(prefix="tern-queue-crash-")
spool = os.path.join(work, "queue")
log = os.path.join(work, "deliveries")
acked, done = set(), {}  # done: (n, rcpt) -> round in which it was recorded
kills = 6
for round_ in range(1, kills + 1):
    # Numbers of their own per round: a message whose enqueue never returned may still be delivered (it was
    # spooled before the kill), so a later round must not send the same number again.
    first = round_ * 1_000_000
    p = subprocess.Popen([helper, spool, log, str(round_), str(first)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "open"
    time.sleep(random.uniform(0.2, 0.9))
    p.send_signal(signal.SIGKILL)
    out, _ = p.communicate()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "acked":
            acked.add(int(parts[1]))
        elif len(parts) == 3 and parts[0] == "done":
            done.setdefault((int(parts[1]), parts[2]), round_)
assert acked, "no message was acknowledged"

p = subprocess.run([helper, spool, log, str(kills + 1), "drain"], stdout=subprocess.PIPE, text=True, timeout=60)
for line in p.stdout.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[0] == "done":
        done.setdefault((int(parts[1]), parts[2]), kills + 1)
assert "drained" in p.stdout, p.stdout

deliveries = collections.defaultdict(list)  # (n, rcpt) -> rounds
with open(log) as f:
    for line in f:
        r, n, rcpt = line.split()
        deliveries[(int(n), rcpt)].append(int(r))
repeats = 0
for n in acked:
    for rcpt in (f"r{n}@a.test", f"r{n}@b.test"):
        rounds = deliveries.get((n, rcpt))
        assert rounds, f"acknowledged message {n} never reached {rcpt}"
        assert len(rounds) == len(set(rounds)), f"{n} to {rcpt} delivered twice in one process: {rounds}"
        recorded = done.get((n, rcpt))
        if recorded is not None:
            late = [r for r in rounds if r > recorded]
            assert not late, f"{n} to {rcpt} was recorded in round {recorded} but delivered again in {late}"
        # Only the last delivery can have been recorded; earlier ones were lost in a kill.
        repeats += len(rounds) - 1
assert not os.listdir(spool) or all(not n.endswith((".env", ".msg", ".qf")) for n in os.listdir(spool)), os.listdir(spool)
assert repeats <= kills * 8, f"{repeats} repeated deliveries over {kills} kills"
print(f"ok: {len(acked)} acknowledged messages over {kills} kills, all delivered; {repeats} unrecorded deliveries repeated")
subprocess.run(["rm", "-rf", work])
