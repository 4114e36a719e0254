#!/usr/bin/env python3
"""Converts Wycheproof JSON test files into the line format our C++ tests read.

Usage: convert_wycheproof.py SRC_DIR DST_DIR

Each output file starts with '#' comment lines, one of them '# count N'; then
one test case per line: tcId, result (valid|invalid|acceptable), flags
(comma-separated, '-' if none), then the fields named in the header as
lower-case hex ('-' for an empty value), separated by single spaces.
"""
import json
import os
import sys

FILES = {
    "x25519": ("x25519_test.json", ["private", "public", "shared"]),
    "ed25519": ("ed25519_test.json", ["publicKey", "msg", "sig"]),
    "hkdf_sha256": ("hkdf_sha256_test.json", ["ikm", "salt", "info", "size", "okm"]),
    "hmac_sha256": ("hmac_sha256_test.json", ["tagSize", "key", "msg", "tag"]),
    "xchacha20_poly1305": ("xchacha20_poly1305_test.json", ["key", "iv", "aad", "msg", "ct", "tag"]),
}


def field(group, test, name):
    if name == "publicKey":
        return group["publicKey"]["pk"] if isinstance(group["publicKey"], dict) else group["publicKey"]
    if name == "tagSize":
        return str(group["tagSize"])
    if name == "size":
        return str(test["size"])
    return test[name]


def main(src, dst):
    for out_name, (src_name, fields) in FILES.items():
        data = json.load(open(os.path.join(src, src_name)))
        lines = []
        for group in data["testGroups"]:
            for t in group["tests"]:
                vals = [field(group, t, f) or "-" for f in fields]
                flags = ",".join(t.get("flags", [])) or "-"
                lines.append(" ".join([str(t["tcId"]), t["result"], flags] + vals))
        with open(os.path.join(dst, out_name + ".txt"), "w") as f:
            f.write("# Wycheproof %s (%s), converted by convert_wycheproof.py\n" % (data["algorithm"], src_name))
            f.write("# fields: tcId result flags %s\n" % " ".join(fields))
            f.write("# count %d\n" % len(lines))
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
