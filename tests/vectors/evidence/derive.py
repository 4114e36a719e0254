#!/usr/bin/env python3
"""Derives, from the committed bundle alone and following docs/PROTOCOL.md
section 8 (not Vigil's code), the values docs/EVIDENCE.md lists in its
worked example. Prints them as the lines of that block. Needs only Python 3.
"""
import base64, hashlib, os, sys

B = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bundle")

def read(p):
    with open(os.path.join(B, p), "rb") as f:
        return f.read()

def pem_key(p):  # Ed25519 SPKI: the last 32 bytes of the DER
    lines = read(p).decode().strip().splitlines()
    return base64.b64decode("".join(l for l in lines if not l.startswith("-----")))[-32:]

def fingerprint(label, key):
    d = hashlib.sha256(label.encode() + b"\0" + key).digest()
    return " ".join("%05d" % (int.from_bytes(d[5 * g:5 * g + 5], "big") % 100000) for g in range(6))

def sha(b):
    return hashlib.sha256(b).hexdigest()

out = ["relay-key-fingerprint " + fingerprint("vigil/relay-signing", pem_key("keys/relay.pem"))]
for name in sorted(os.listdir(os.path.join(B, "keys"))):
    if name.startswith("identity-"):
        out.append("identity-fingerprint " + name[9:25] + " " + fingerprint("vigil/identity", pem_key("keys/" + name)))
label = len(b"vigil/note-version/v1\0")
for d in sorted(os.listdir(B)):
    if not d.startswith("note-"):
        continue
    for f in sorted(os.listdir(os.path.join(B, d))):
        if not f.endswith(".signed") or f.count(".") != 1:
            continue
        stem = d + "/" + f[:-7]
        out.append("version-hash " + stem + " " + sha(read(stem + ".signed")[label:]))
        digest = sha(read(stem + ".commitment.txt"))
        out.append("commitment-digest " + stem + " " + digest)
        out.append("tlog-leaf " + stem + " " + sha(b"\0" + bytes.fromhex(digest)))
        root = [l for l in read(stem + ".tlog.txt").decode().splitlines() if l.startswith("root ")][0][5:]
        out.append("tlog-root " + stem + " " + root)
out.append("manifest-sha256 " + sha(read("MANIFEST.sha256")))
print("\n".join(out))
