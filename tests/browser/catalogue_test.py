#!/usr/bin/python3
"""The app's message catalogue is complete and used for every word the page shows.

Usage: catalogue_test.py WEB_DIR   (client/app/web)

Checks: i18n/en.json and es.json have exactly the same keys, no empty
message, the same {placeholders} per key; every key the page asks for
(t('...'), data-i18n, and the families built at run time) exists; and no
user-visible text is hard-coded in index.html or the JavaScript modules.
Runs without a browser.
"""
import html.parser
import json
import os
import re
import sys

WEB = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '../../client/app/web')
ASSETS = os.path.join(WEB, 'assets')
failures = []


def fail(msg):
    failures.append(msg)


def load(lang):
    with open(os.path.join(ASSETS, 'i18n', f'{lang}.json'), encoding='utf-8') as f:
        return json.load(f)


def js_files():
    for root, _, files in os.walk(ASSETS):
        for name in sorted(files):
            if name.endswith('.js'):
                yield os.path.join(root, name)


def string_literals(src):
    """(line, quote, text) of every string literal in JavaScript source,
    skipping comments. Template literals' ${...} parts are dropped."""
    out = []
    i, n, line = 0, len(src), 1
    while i < n:
        c = src[i]
        if c == '\n':
            line += 1
        if src.startswith('//', i):
            j = src.find('\n', i)
            i = n if j < 0 else j
            continue
        if src.startswith('/*', i):
            j = src.find('*/', i + 2)
            line += src[i:j].count('\n')
            i = n if j < 0 else j + 2
            continue
        if c in '\'"`':
            j, buf, depth = i + 1, [], 0
            while j < n:
                d = src[j]
                if d == '\\':
                    buf.append(src[j:j + 2])
                    j += 2
                    continue
                if c == '`' and src.startswith('${', j):
                    depth, j = 1, j + 2
                    while j < n and depth:
                        depth += {'{': 1, '}': -1}.get(src[j], 0)
                        j += 1
                    buf.append(' ')
                    continue
                if d == c:
                    break
                buf.append(d)
                j += 1
            text = ''.join(buf)
            out.append((line, c, text))
            line += text.count('\n')
            i = j + 1
            continue
        i += 1
    return out


en, es = load('en'), load('es')

# 1. Both languages complete, nothing empty, the same placeholders.
for k in sorted(set(en) - set(es)):
    fail(f'es.json lacks "{k}"')
for k in sorted(set(es) - set(en)):
    fail(f'en.json lacks "{k}" (es.json has it)')
for lang, cat in (('en', en), ('es', es)):
    for k, v in cat.items():
        if not isinstance(v, str) or not v.strip():
            fail(f'{lang}.json: "{k}" is empty')
for k in set(en) & set(es):
    pe, ps = set(re.findall(r'\{(\w+)\}', en[k])), set(re.findall(r'\{(\w+)\}', es[k]))
    if pe != ps:
        fail(f'"{k}": placeholders differ: en {sorted(pe)} es {sorted(ps)}')

# 2. Every key asked for exists.
used = set()
for path in js_files():
    with open(path, encoding='utf-8') as f:
        src = f.read()
    used |= set(re.findall(r"\bt\('([a-z0-9_.]+)'", src))
    used |= set(re.findall(r"\b(?:field|button|passphraseField|panel\('[\w-]+',)\s*\(?'([a-z0-9_]+\.[a-z0-9_.]+)'", src))
    used |= set(re.findall(r"hint(?:Key)?: '([a-z0-9_]+\.[a-z0-9_.]+)'", src))
    used |= set(re.findall(r"'([a-z]+\.[a-z0-9_]+(?:\.[a-z0-9_]+)?)'", src)) & set(en)  # keys in arrays
with open(os.path.join(WEB, 'index.html'), encoding='utf-8') as f:
    page = f.read()
used |= set(re.findall(r'data-i18n="([^"]+)"', page))
used |= set(re.findall(r':([a-z0-9_]+\.[a-z0-9_.]+)', ' '.join(re.findall(r'data-i18n-attr="([^"]+)"', page))))
# Families whose last part is data (a role, a status, an error code...).
families = {
    'role': ['volunteer', 'coordinator', 'legal'],
    'visit.status': ['assigned', 'accepted', 'declined', 'completed', 'cancelled', 'unknown'],
    'event': ['assign', 'accept', 'decline', 'complete', 'cancel', 'unknown'],
    'event.status': ['rejected', 'pending'],
    'note.status': ['rejected', 'pending'],
    'stamp': ['ok', 'pending', 'rejected'],
    'strength': ['1', '2', '3'],
    'language': ['en', 'es'],
    'error': ['bad_request', 'unauthorized', 'wrong_passphrase', 'forbidden', 'not_found',
              'method_not_allowed', 'conflict', 'too_large', 'unsupported_media', 'locked',
              'slow_down', 'internal', 'unavailable'],
}
for fam, members in families.items():
    for m in members:
        used.add(f'{fam}.{m}')
for k in sorted(used - set(en)):
    fail(f'the page uses "{k}" but en.json has no such message')
if len(used & set(en)) < 0.9 * len(en):
    fail(f'only {len(used & set(en))} of {len(en)} messages are found in use: the key scan is broken')

# 3. No hard-coded user-visible text.
WORDS = re.compile(r'[A-Za-z]{2,}\s+[A-Za-z]{2,}')
for path in js_files():
    rel = os.path.relpath(path, WEB)
    with open(path, encoding='utf-8') as f:
        src = f.read()
    lines = src.split('\n')
    for line, quote, text in string_literals(src):
        # Words the CLI or the server send as data (compared, never shown)
        # are marked on their line with "i18n-exempt".
        if 'i18n-exempt' in lines[line - 1]:
            continue
        if WORDS.search(text) and not text.startswith(('/', '#', '[', ':')):
            fail(f'{rel}:{line}: text outside the catalogue: {quote}{text[:60]}{quote}')
    for m in re.finditer(r"\b(text|'aria-label'|title|placeholder|alt):\s*(['\"`])([^'\"`]*)\2", src):
        if re.search(r'[A-Za-z]{2,}', re.sub(r'\$\{[^}]*\}', '', m.group(3))):
            fail(f'{rel}: {m.group(1)} set to a literal: {m.group(3)[:60]}')


class PageText(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name in ('aria-label', 'title', 'placeholder', 'alt'):
            if name in a:
                fail(f'index.html: <{tag} {name}="{a[name]}"> is not from the catalogue (use data-i18n-attr)')
        if a.get('style') is not None or any(n.startswith('on') for n in a):
            fail(f'index.html: <{tag}> has an inline style or handler (the CSP forbids them)')
        if tag == 'script' and 'src' not in a:
            fail('index.html: inline <script> (the CSP forbids it)')
        if tag not in ('meta', 'link', 'input', 'br', 'img'):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data):
        if data.strip() and not set(self.stack) & {'noscript', 'title', 'script', 'style'}:
            fail(f'index.html: hard-coded text "{data.strip()[:60]}" in <{self.stack[-1] if self.stack else "?"}>')


PageText().feed(page)
if re.search(r'<style|\sstyle=', page):
    fail('index.html: inline style')
for path in js_files():
    with open(path, encoding='utf-8') as f:
        src = f.read()
    if re.search(r'\.innerHTML\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function', src):
        fail(f'{os.path.relpath(path, WEB)}: builds markup or code from strings')

if failures:
    print('\n'.join(f'FAIL: {m}' for m in failures))
    print(f'{len(failures)} problem(s)')
    sys.exit(1)
print(f'catalogue OK: {len(en)} messages in en and es, {len(used)} keys in use, no hard-coded text')
