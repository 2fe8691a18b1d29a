#!/usr/bin/python3
"""Cross-check `ternctl mime inspect` against Python's email package (policy=default) on a corpus.

usage: crosscheck.py TERNCTL CORPUS_DIR

For every *.eml file: same part tree (content types in walk order), same decoded filenames, same
decoded Subject, same From/To/Cc addresses and display names. Differences we accept are listed in
JUSTIFIED with the reason; anything else fails the test.
"""
import email
import email.policy
import json
import os
import subprocess
import sys

# (file name relative to the corpus, field) -> why our answer differs from Python's and is kept.
JUSTIFIED = {
    ("mikel-mail/attachment_emails/attachment_with_base64_encoded_name.eml", "filenames"):
        "unquoted name==?utf-8?B?...?= parameter: Python gives up, we decode the encoded-word as mail clients do",
    ("mikel-mail/attachment_emails/attachment_with_unquoted_name.eml", "filenames"):
        "unquoted name with spaces: Python keeps the first word, we keep everything up to ';' as clients do",
    ("mikel-mail/error_emails/bad_subject.eml", "from"):
        "display name of encoded-words with spaces inside: Python keeps stray spaces, we join the words",
    ("mikel-mail/error_emails/invalid_subject_characters.eml", "subject"):
        "raw 8-bit Latin-1 Subject: Python shows U+FFFD, we fall back to Latin-1 when it is not UTF-8",
    ("mikel-mail/error_emails/must_supply_encoding.eml", "from"):
        "invalid UTF-8 in a display name: Python keeps surrogate escapes (not representable in JSON), we use U+FFFD",
    ("mikel-mail/mime_emails/raw_email_with_binary_encoded.eml", "types"):
        "unquoted boundary with '=': Python cuts it at '=' and finds no parts; we take it up to ';' as clients do",
    ("mikel-mail/mime_emails/raw_email_with_binary_encoded.eml", "filenames"): "same as types",
    ("mikel-mail/mime_emails/raw_email_with_illegal_boundary.eml", "types"):
        "unquoted boundary with '=': Python cuts it at '=' and finds no parts; we take it up to ';' as clients do",
    ("mikel-mail/mime_emails/raw_email_with_illegal_boundary.eml", "filenames"): "same as types",
    ("mikel-mail/multipart_report_emails/multi_address_bounce1.eml", "from"):
        "'addr (Mail Delivery System)': the comment after a bare addr-spec is the display name (Dovecot's "
        "ENVELOPE, email.utils.parseaddr); Python's header registry drops comments",
    ("mikel-mail/multipart_report_emails/multi_address_bounce2.eml", "from"): "same as multi_address_bounce1",
    ("mikel-mail/plain_emails/raw_email_bad_time.eml", "types"):
        "unquoted boundary with '=': Python cuts it at '=' and finds no parts; we take it up to ';' as clients do",
    ("mikel-mail/plain_emails/raw_email_bad_time.eml", "filenames"): "same as types",
    ("mikel-mail/plain_emails/raw_email_incorrect_header.eml", "subject"):
        "'quite Delivered-To: x' (no field name) among the header fields: Python ends the header there and "
        "shows no Subject/From/To; Dovecot and Thunderbird read on to the empty line, so do we "
        "(broken_header_line: a line that is no field is a broken field when more header follows it)",
    ("mikel-mail/plain_emails/raw_email_incorrect_header.eml", "from"): "same as subject",
    ("mikel-mail/plain_emails/raw_email_incorrect_header.eml", "to"): "same as subject",
    ("mikel-mail/plain_emails/raw_email_with_at_display_name.eml", "to"):
        "'Mikel@Lindsaar <raasdnil@gmail.com>': we take the angle address (what clients show), Python the first word",
    ("mikel-mail/rfc2822/example13.eml", "from"):
        "'From  :' with white space before the colon is obs-optional (RFC 5322 §4.5.3); Python ignores the field",
    ("mikel-mail/rfc2822/example13.eml", "to"): "same as from (corpus has '__' where the RFC example has white space)",
    ("mikel-mail/rfc2822/example13.eml", "subject"):
        "the corpus has a '__' line (no field) where RFC 5322 A.6.3 folds To: Python ends the header there; more "
        "header follows, so it is a broken field (broken_header_line, as Dovecot reads on) and we show the "
        "example's Subject 'Saying Hello'",
    ("mikel-mail/rfc6532/utf8_headers.eml", "from"):
        "RFC 6532 UTF-8 header: Python's message_from_bytes yields surrogate escapes, we decode UTF-8",
    ("mikel-mail/rfc6532/utf8_headers.eml", "to"): "same as from",
}

# Python parses the body of message/delivery-status (RFC 3464) into per-recipient header blocks and
# walk() yields them as text/plain parts; for MIME structure (and IMAP) that body is a leaf, so the
# Python walk is not descended into message/delivery-status.
LEAF_TYPES = {"message/delivery-status"}


def python_view(data):
    msg = email.message_from_bytes(data, policy=email.policy.default)
    view = {"types": [], "filenames": []}
    def walk(part):
        yield part
        if part.get_content_type() in LEAF_TYPES:
            return
        if part.is_multipart():
            for sub in part.get_payload():
                yield from walk(sub)

    for part in walk(msg):
        view["types"].append(part.get_content_type())
        try:
            view["filenames"].append(part.get_filename())
        except Exception as e:  # noqa: BLE001 - Python raises on some broken parameters
            view["filenames"].append("<python error %s>" % type(e).__name__)
    try:
        subj = msg["subject"]
        view["subject"] = None if subj is None else str(subj).strip()
    except Exception as e:  # noqa: BLE001
        view["subject"] = "<python error %s>" % type(e).__name__
    for field in ("from", "to", "cc"):
        try:
            h = msg[field]
            if h is None:
                view[field] = None
            else:
                view[field] = [[a.display_name, a.addr_spec] for a in h.addresses]
        except Exception as e:  # noqa: BLE001
            view[field] = "<python error %s>" % type(e).__name__
    return view


def tern_view(ternctl, path):
    out = subprocess.run([ternctl, "mime", "inspect", path], capture_output=True, check=True, timeout=60)
    j = json.loads(out.stdout)
    view = {"types": [], "filenames": []}
    for p in j["parts"]:
        view["types"].append(p["content_type"])
        view["filenames"].append(p["filename"])
    h = j["headers"]
    view["subject"] = h["subject"]
    for field in ("from", "to", "cc"):
        view[field] = None if h[field] is None else [[a["name"], a["address"]] for a in h[field]]
    return view


def find_corpus(path):
    if os.path.isdir(path):
        return path
    # A helper worktree sits one level deeper than the main checkout.
    alt = os.path.join(os.path.dirname(os.path.abspath(path.rstrip("/"))), "..", "..", "shared", "testdata", "mime")
    parts = os.path.abspath(path).split(os.sep)
    if "shared" in parts:
        i = parts.index("shared")
        alt = os.sep.join(parts[: i - 1] + parts[i:])
    return alt if os.path.isdir(alt) else path


def main():
    ternctl, corpus = sys.argv[1], find_corpus(sys.argv[2])
    files = []
    for root, _, names in os.walk(corpus):
        files += [os.path.join(root, n) for n in names if n.endswith(".eml")]
    files.sort()
    if not files:
        print("no corpus files under %s" % corpus)
        return 1
    failures = 0
    justified = 0
    # Bad input gets a sentence and exit status 1, never a crash: a directory, a missing file.
    for bad, why in ((corpus, "Is a directory"), (os.path.join(corpus, "no-such.eml"), "No such file")):
        r = subprocess.run([ternctl, "mime", "inspect", bad], capture_output=True, text=True, timeout=60)
        if r.returncode != 1 or why not in r.stderr or bad not in r.stderr:
            print("ternctl mime inspect %s: exit %d, stderr %r" % (bad, r.returncode, r.stderr))
            failures += 1
    for path in files:
        rel = os.path.relpath(path, corpus)
        with open(path, "rb") as f:
            data = f.read()
        py = python_view(data)
        ours = tern_view(ternctl, path)
        for field in ("types", "filenames", "subject", "from", "to", "cc"):
            if py[field] == ours[field]:
                continue
            if (rel, field) in JUSTIFIED:
                justified += 1
                continue
            failures += 1
            print("DIFF %s %s\n  python: %r\n  tern:   %r" % (rel, field, py[field], ours[field]))
    print("%d files, %d unexplained differences, %d justified" % (len(files), failures, justified))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
