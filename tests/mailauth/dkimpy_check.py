"""dkimpy (an independent DKIM implementation) as a peer for tests/mailauth: signs or verifies the
message on stdin.

  dkimpy_check.py sign KEYFILE SELECTOR DOMAIN HEADER_C BODY_C ALGORITHM [length] [identity=I]
      KEYFILE: PEM (rsa-*) or the base64 Ed25519 seed; prints the DKIM-Signature field
  dkimpy_check.py verify RECORDFILE
      serves RECORDFILE's TXT value for every key name; exit 0 when dkimpy verifies the first signature
"""
import sys

import dkim


def main():
    mode = sys.argv[1]
    message = sys.stdin.buffer.read()
    if mode == "sign":
        keyfile, selector, domain, hc, bc, algo = sys.argv[2:8]
        extra = sys.argv[8:]
        identity = None
        for e in extra:
            if e.startswith("identity="):
                identity = e[len("identity="):].encode()
        with open(keyfile, "rb") as f:
            key = f.read()
        sig = dkim.sign(message, selector.encode(), domain.encode(), key, identity=identity,
                        canonicalize=(hc.encode(), bc.encode()), signature_algorithm=algo.encode(),
                        length="length" in extra)
        sys.stdout.buffer.write(sig)
        return 0
    with open(sys.argv[2], "rb") as f:
        record = f.read().strip()
    ok = dkim.verify(message, dnsfunc=lambda name, timeout=5: record, minkey=1024)
    return 0 if ok else 1


sys.exit(main())
