#!/usr/bin/env python3
"""Recomputes tests/vectors/session/v1.txt from docs/SESSIONS_DRAFT.md alone.

An independent implementation of Vigil's X3DH + Double Ratchet (version 1)
for the fixed inputs listed at the top of v1.txt: it shares no code with the
C++ implementation, so agreement means the document, the vectors and
core/crypto/{x3dh,ratchet}.cc say the same thing.

    python3 tests/vectors/session/check_vectors.py            # check
    python3 tests/vectors/session/check_vectors.py --print    # print values

Needs Python 3 and the "cryptography" package (X25519, Ed25519,
ChaCha20-Poly1305); HKDF, HChaCha20 and the protobuf encoding are written out
here. Not run by ctest (the C++ test checks the same file).
"""
import hashlib
import hmac
import os
import struct
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

RAW = serialization.Encoding.Raw
RAW_PUB = serialization.PublicFormat.Raw


def sha256(b):
    return hashlib.sha256(b).digest()


def hkdf(salt, ikm, info, length):
    """RFC 5869 with SHA-256."""
    prk = hmac.new(salt, ikm, "sha256").digest()
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), "sha256").digest()
        out += t
        i += 1
    return out[:length]


# --- XChaCha20-Poly1305 = HChaCha20 subkey + IETF ChaCha20-Poly1305 ---

def _rotl(v, c):
    return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))


def _qr(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 7)


def hchacha20(key, nonce16):
    s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    s += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))
    for _ in range(10):
        _qr(s, 0, 4, 8, 12); _qr(s, 1, 5, 9, 13); _qr(s, 2, 6, 10, 14); _qr(s, 3, 7, 11, 15)
        _qr(s, 0, 5, 10, 15); _qr(s, 1, 6, 11, 12); _qr(s, 2, 7, 8, 13); _qr(s, 3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def xchacha_seal(key, nonce24, aad, plaintext):
    sub = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(sub).encrypt(b"\0" * 4 + nonce24[16:], plaintext, aad)


# draft-irtf-cfrg-xchacha-03 section 2.2.1
assert hchacha20(bytes(range(32)), bytes.fromhex("000000090000004a0000000031415927")).hex() == \
    "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc"


# --- protobuf (proto3) encoding of the few messages used ---

def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def f_varint(num, v, always=False):
    return b"" if v == 0 and not always else varint(num << 3) + varint(v)


def f_bytes(num, b):
    return b"" if not b else varint(num << 3 | 2) + varint(len(b)) + b


# --- keys ---

def x25519_from_label(label):
    priv = X25519PrivateKey.from_private_bytes(sha256(label.encode()))
    return priv, priv.public_key().public_bytes(RAW, RAW_PUB)


def dh(priv, pub):
    return priv.exchange(X25519PublicKey.from_public_bytes(pub))


def device(name):
    sign = Ed25519PrivateKey.from_private_bytes(sha256(("signing:" + name).encode()))
    dh_priv, dh_pub = x25519_from_label("identity-dh:" + name)
    return {
        "id": sha256(("device-id:" + name).encode())[:16],
        "sign": sign,
        "sign_pub": sign.public_key().public_bytes(RAW, RAW_PUB),
        "dh": dh_priv,
        "dh_pub": dh_pub,
    }


# --- the protocol (docs/SESSIONS_DRAFT.md) ---

def kdf_rk(rk, dh_out):
    out = hkdf(rk, dh_out, b"vigil/ratchet/root/v1", 64)
    return out[:32], out[32:]


def kdf_ck(ck):
    return hmac.new(ck, b"\x01", "sha256").digest(), hmac.new(ck, b"\x02", "sha256").digest()


def message_keys(mk):
    out = hkdf(b"\0" * 32, mk, b"vigil/ratchet/msg/v1", 56)
    return out[:32], out[32:]


def header(ratchet_pub, pn, n):
    return f_varint(1, 1) + f_bytes(2, ratchet_pub) + f_varint(3, pn) + f_varint(4, n)


def encrypt(ck, ad, ratchet_pub, pn, n, plaintext, initial=b""):
    mk, next_ck = kdf_ck(ck)
    key, nonce = message_keys(mk)
    h = header(ratchet_pub, pn, n)
    ct = xchacha_seal(key, nonce, ad + h, plaintext)
    msg = f_varint(1, 1) + f_bytes(2, h) + f_bytes(3, ct) + f_bytes(4, initial)
    return msg, next_ck, mk, key, nonce


def compute():
    v = {}
    alice, bob = device("alice"), device("bob")
    spk, spk_pub = x25519_from_label("spk:bob")
    opk, opk_pub = x25519_from_label("opk:bob")
    ek, ek_pub = x25519_from_label("ek:alice")
    a1, a1_pub = x25519_from_label("ratchet-1:alice")
    b1, b1_pub = x25519_from_label("ratchet-1:bob")
    a2, a2_pub = x25519_from_label("ratchet-2:alice")
    spk_id, opk_id, created = 7, 42, 1700000000000

    v["alice_signing_public"] = alice["sign_pub"]
    v["alice_identity_dh_public"] = alice["dh_pub"]
    v["bob_signing_public"] = bob["sign_pub"]
    v["bob_identity_dh_public"] = bob["dh_pub"]
    v["bob_device_id"] = bob["id"]
    v["bob_spk_public"] = spk_pub
    v["bob_opk_public"] = opk_pub

    signed = b"vigil/signed-prekey/v1\0" + struct.pack(">I", spk_id) + spk_pub + struct.pack(">q", created)
    v["spk_signed_message"] = signed
    sig = bob["sign"].sign(signed)
    v["spk_signature"] = sig
    spk_msg = f_varint(1, spk_id) + f_bytes(2, spk_pub) + f_varint(3, created) + f_bytes(4, sig)
    opk_msg = f_varint(1, opk_id) + f_bytes(2, opk_pub)
    v["prekey_bundle"] = f_varint(1, 1) + f_bytes(2, bob["id"]) + f_bytes(3, spk_msg) + f_bytes(4, opk_msg)

    # X3DH, initiator's view.
    dh1 = dh(alice["dh"], spk_pub)
    dh2 = dh(ek, bob["dh_pub"])
    dh3 = dh(ek, spk_pub)
    dh4 = dh(ek, opk_pub)
    v["x3dh_dh1"], v["x3dh_dh2"], v["x3dh_dh3"], v["x3dh_dh4"] = dh1, dh2, dh3, dh4
    sk = hkdf(b"\0" * 32, b"\xff" * 32 + dh1 + dh2 + dh3 + dh4, b"vigil/x3dh/v1", 32)
    v["x3dh_sk"] = sk
    # The responder's view gives the same secret.
    assert sk == hkdf(b"\0" * 32, b"\xff" * 32 + dh(spk, alice["dh_pub"]) + dh(bob["dh"], ek_pub) +
                      dh(spk, ek_pub) + dh(opk, ek_pub), b"vigil/x3dh/v1", 32)
    ad = b"vigil/ad/v1" + alice["sign_pub"] + bob["sign_pub"] + alice["dh_pub"] + bob["dh_pub"]
    v["associated_data"] = ad

    # Alice's first chain.
    rk, cks = kdf_rk(sk, dh(a1, spk_pub))
    v["alice_root_key_1"], v["alice_sending_chain_key_1"] = rk, cks
    initial = (f_bytes(1, alice["dh_pub"]) + f_bytes(2, ek_pub) + f_varint(3, spk_id) +
               f_varint(4, opk_id, always=True))
    m0, cks, mk, key, nonce = encrypt(cks, ad, a1_pub, 0, 0, b"hello bob", initial)
    v["alice_message_key_0"], v["alice_chain_key_after_0"] = mk, cks
    v["alice_aead_key_0"], v["alice_nonce_0"] = key, nonce
    v["message_a0"] = m0
    v["message_a1"], cks = encrypt(cks, ad, a1_pub, 0, 1, b"second", initial)[:2]

    # Bob: receiving chain from his signed prekey, then a sending chain with
    # his fresh ratchet key (PN = 0: he had sent nothing).
    rk_b, ckr_b = kdf_rk(sk, dh(spk, a1_pub))
    assert rk_b == v["alice_root_key_1"]
    rk_b, cks_b = kdf_rk(rk_b, dh(b1, a1_pub))
    v["message_b0"] = encrypt(cks_b, ad, b1_pub, 0, 0, b"hello alice")[0]

    # Alice receives it (new remote ratchet key), then starts her second
    # chain with her fresh key: PN = 2 messages in her first chain.
    rk, ckr = kdf_rk(rk, dh(a1, b1_pub))
    assert (rk, ckr) == (rk_b, cks_b)
    rk, cks = kdf_rk(rk, dh(a2, b1_pub))
    v["message_a2"] = encrypt(cks, ad, a2_pub, 2, 0, b"third")[0]
    return v


def main():
    values = compute()
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "v1.txt")
    if "--print" in sys.argv:
        for name, value in values.items():
            print(name, value.hex())
        return 0
    frozen = {}
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                name, hexval = line.split()
                frozen[name] = hexval
    bad = 0
    if set(frozen) != set(values):
        print("names differ:", sorted(set(frozen) ^ set(values)))
        bad += 1
    for name, value in values.items():
        if frozen.get(name) != value.hex():
            print("MISMATCH", name, "\n  file:    ", frozen.get(name), "\n  computed:", value.hex())
            bad += 1
    print("%d values, %d mismatches" % (len(values), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
