#!/usr/bin/env python3
"""Converts Wycheproof JSON test files into the line format our C++ tests read.

Usage:
  convert_wycheproof.py SRC_DIR [DST_DIR]

SRC_DIR holds Wycheproof's testvectors_v1 JSON files (x25519_test.json, ...)
and its LICENSE. DST_DIR defaults to the wycheproof/ directory next to this
script. Python 3 standard library only; the output is deterministic, so
re-running the script on the same input reproduces the committed files.

Output format (one .txt file per JSON file, documented again at the top of
each file):
  * Lines starting with '#' are comments. Two of them are machine-read:
      '# fields: tcId result flags NAME...'   the column names, in order
      '# count: N'                            the number of test-case lines
  * Every other line is one test case: columns separated by single spaces:
      tcId     decimal Wycheproof test id
      result   valid | invalid | acceptable
      flags    comma-separated Wycheproof flags, '-' if none
      NAME...  the fields named in the header: lower-case hex, or '-' for an
               empty byte string; the few numeric fields (size, tagSize) are
               decimal.
The converter refuses input it cannot represent faithfully (non-hex data,
duplicate ids, a count that differs from the file's numberOfTests).
"""
import json
import os
import re
import shutil
import sys

# Where the JSON files came from (see tests/vectors/README.md).
UPSTREAM = "https://github.com/C2SP/wycheproof, testvectors_v1/, commit dac1dd4"

# output name -> (source file, [(column, where, kind)], notes)
# where: "test" (the test case object) or "group" (its test group);
# kind: "hex" or "int". A dotted 'where' path reads a nested group field.
SPECS = {
    "x25519": (
        "x25519_test.json",
        [("private", "test", "hex"), ("public", "test", "hex"),
         ("shared", "test", "hex")],
        ["X25519(private, public) = shared (RFC 7748).",
         "'acceptable' cases: an all-zero shared secret (flag ZeroSharedSecret,",
         "low-order public key) must be refused; for the others the shared",
         "secret is well defined and must be computed exactly."]),
    "ed25519": (
        "ed25519_test.json",
        [("publicKey", "group.publicKey.pk", "hex"), ("msg", "test", "hex"),
         ("sig", "test", "hex")],
        ["Ed25519 verification of sig over msg under publicKey (RFC 8032).",
         "valid: must verify; invalid: must be rejected."]),
    "hkdf_sha256": (
        "hkdf_sha256_test.json",
        [("ikm", "test", "hex"), ("salt", "test", "hex"),
         ("info", "test", "hex"), ("size", "test", "int"),
         ("okm", "test", "hex")],
        ["HKDF-SHA-256(salt, ikm, info, size) = okm (RFC 5869); size is the",
         "output length in bytes (decimal). invalid cases ask for more than",
         "255 * 32 bytes and must be rejected."]),
    "hmac_sha256": (
        "hmac_sha256_test.json",
        [("tagSize", "group", "int"), ("key", "test", "hex"),
         ("msg", "test", "hex"), ("tag", "test", "hex")],
        ["HMAC-SHA-256(key, msg) truncated to tagSize bits (decimal) = tag.",
         "valid: must match; invalid (modified tags): must not match."]),
    "xchacha20_poly1305": (
        "xchacha20_poly1305_test.json",
        [("key", "test", "hex"), ("iv", "test", "hex"), ("aad", "test", "hex"),
         ("msg", "test", "hex"), ("ct", "test", "hex"), ("tag", "test", "hex")],
        ["XChaCha20-Poly1305 (IETF): seal(key, iv, aad, msg) = ct || tag.",
         "valid: must seal to ct||tag and open to msg; invalid (modified tags,",
         "nonce sizes other than 24 bytes): opening must fail."]),
}

HEX_RE = re.compile(r"^(?:[0-9a-f]{2})*$")
RESULTS = ("valid", "invalid", "acceptable")


class ConvertError(Exception):
    pass


def lookup(group, test, where, name):
    if where == "test":
        return test[name]
    obj = group
    parts = where.split(".")[1:]  # drop "group"
    for p in parts or [name]:
        obj = obj[p]
    return obj


def render(value, kind, where_msg):
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConvertError("%s: not a non-negative integer: %r" % (where_msg, value))
        return str(value)
    if not isinstance(value, str):
        raise ConvertError("%s: not a hex string: %r" % (where_msg, value))
    value = value.lower()
    if not HEX_RE.match(value):
        raise ConvertError("%s: not even-length hex: %r" % (where_msg, value))
    return value or "-"


def convert(src_dir, out_name, src_name, columns, notes):
    with open(os.path.join(src_dir, src_name), encoding="utf-8") as f:
        data = json.load(f)
    lines = []
    seen = set()
    for group in data["testGroups"]:
        for t in group["tests"]:
            tc = t["tcId"]
            where_msg = "%s tcId %s" % (src_name, tc)
            if not isinstance(tc, int) or tc in seen:
                raise ConvertError("%s: bad or duplicate tcId" % where_msg)
            seen.add(tc)
            if t["result"] not in RESULTS:
                raise ConvertError("%s: unknown result %r" % (where_msg, t["result"]))
            flags = t.get("flags", [])
            for fl in flags:
                if not re.match(r"^[A-Za-z0-9_]+$", fl):
                    raise ConvertError("%s: unexpected flag %r" % (where_msg, fl))
            vals = [render(lookup(group, t, where, name), kind,
                           "%s field %s" % (where_msg, name))
                    for name, where, kind in columns]
            lines.append(" ".join([str(tc), t["result"], ",".join(flags) or "-"] + vals))
    declared = data.get("numberOfTests")
    if declared != len(lines):
        raise ConvertError("%s: numberOfTests is %r but %d cases were read"
                           % (src_name, declared, len(lines)))

    names = [c[0] for c in columns]
    header = [
        "Wycheproof %s vectors, from %s (algorithm %s, schema %s)."
        % (out_name, src_name, data.get("algorithm"), data.get("schema")),
        "Source: %s." % UPSTREAM,
        "License: Apache License 2.0, see LICENSE in this directory.",
        "Generated by tests/vectors/convert_wycheproof.py; do not edit by hand.",
        "",
        "One test case per line, columns separated by single spaces:",
        "  tcId result flags " + " ".join(names),
        "tcId: decimal; result: valid | invalid | acceptable; flags: comma-",
        "separated Wycheproof flags or '-'. Byte fields are lower-case hex, '-'",
        "when empty; size and tagSize are decimal numbers.",
        "",
    ] + notes + [
        "",
        "fields: tcId result flags " + " ".join(names),
        "count: %d" % len(lines),
    ]
    text = "".join(("# " + h).rstrip() + "\n" for h in header)
    text += "".join(line + "\n" for line in lines)
    return text, len(lines)


def main(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write(__doc__)
        return 2
    src = argv[1]
    dst = argv[2] if len(argv) == 3 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "wycheproof")
    os.makedirs(dst, exist_ok=True)
    try:
        for out_name, (src_name, columns, notes) in SPECS.items():
            text, n = convert(src, out_name, src_name, columns, notes)
            with open(os.path.join(dst, out_name + ".txt"), "w", encoding="ascii",
                      newline="\n") as f:
                f.write(text)
            print("%s.txt: %d cases" % (out_name, n))
    except (ConvertError, KeyError, ValueError) as e:
        sys.stderr.write("convert_wycheproof: %s\n" % e)
        return 1
    lic_dst = os.path.join(dst, "LICENSE")
    if os.path.exists(lic_dst):
        os.chmod(lic_dst, 0o644)
    shutil.copyfile(os.path.join(src, "LICENSE"), lic_dst)
    os.chmod(lic_dst, 0o644)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
