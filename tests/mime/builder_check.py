#!/usr/bin/python3
"""Reads messages built by tern's MessageBuilder with Python's email package (policy=default) and checks the
values the C++ test expected: subject, From/To display names and addresses, and for every leaf part its
content type, parameters, filename and decoded content. Usage: builder_check.py DIR (msgN.eml + msgN.json)."""
import email
import email.policy
import json
import os
import sys


def text(s):
    """Python's email keeps raw UTF-8 (RFC 6532) of address fields as surrogate escapes; undo that."""
    return s.encode('utf-8', 'surrogateescape').decode('utf-8')


def main():
    d = sys.argv[1]
    failures = 0
    names = sorted(n for n in os.listdir(d) if n.endswith('.eml'))
    for n in names:
        raw = open(os.path.join(d, n), 'rb').read()
        want = json.load(open(os.path.join(d, n[:-4] + '.json'), encoding='utf-8'))
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        got = {'subject': text(str(msg['subject'])),
               'from': [[text(a.display_name), text(a.addr_spec)] for a in msg['from'].addresses],
               'to': [[text(a.display_name), text(a.addr_spec)] for a in msg['to'].addresses] if msg['to'] else [],
               'parts': []}
        for part in msg.walk():
            if part.is_multipart():
                continue
            p = {'type': part.get_content_type(), 'filename': part.get_filename() or ''}
            if part.get_content_maintype() == 'text':
                p['text'] = part.get_content().replace('\r\n', '\n')
            elif part.get_content_maintype() == 'message':
                p['text'] = ''
            else:
                p['hex'] = part.get_content().hex()
            got['parts'].append(p)
        if msg.defects:
            got['defects'] = [type(x).__name__ for x in msg.defects]
        for part in msg.walk():
            if part.defects:
                got.setdefault('defects', []).extend(type(x).__name__ for x in part.defects)
        if got != want:
            failures += 1
            print(n, 'differs:\n want', json.dumps(want, ensure_ascii=False)[:2000], '\n got ',
                  json.dumps(got, ensure_ascii=False)[:2000])
    print(len(names), 'messages,', failures, 'differ')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
