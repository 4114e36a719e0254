// Published test vectors, checked byte for byte: RFC 5869 (HKDF-SHA-256),
// RFC 4231 (HMAC-SHA-256), RFC 7748 (X25519), RFC 8032 (Ed25519),
// draft-irtf-cfrg-xchacha-03 (XChaCha20-Poly1305); plus the wrappers' own
// contracts (SecretBytes, constant-time comparison, AEAD tampering, Argon2id,
// fingerprints, secretstream).
#include "vigil/crypto.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace vigil::crypto {
namespace {

Bytes H(std::string_view hex) {
  auto b = HexDecode(hex);
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : Bytes();
}

std::string Hex(const SecretBytes& s) { return HexEncode(s.span()); }

Bytes Range(int first, int last) {
  Bytes b;
  for (int i = first; i <= last; ++i) b.push_back(static_cast<uint8_t>(i));
  return b;
}

Bytes FlipBit(Bytes b, size_t bit) {
  b[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  return b;
}

class CryptoTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(InitCrypto().ok()); }
};

TEST_F(CryptoTest, InitIsIdempotent) {
  EXPECT_TRUE(InitCrypto().ok());
  EXPECT_TRUE(InitCrypto().ok());
}

// --- SHA-256 (FIPS 180-4 examples) ---

TEST_F(CryptoTest, Sha256KnownAnswers) {
  EXPECT_EQ(HexEncode(Sha256({})),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // One million 'a', fed in uneven pieces.
  Sha256Hasher h;
  Bytes a(1000000, 'a');
  size_t done = 0;
  for (size_t step = 1; done < a.size(); step = step * 3 + 1) {
    size_t n = std::min(step, a.size() - done);
    h.Update(ByteSpan(a.data() + done, n));
    done += n;
  }
  EXPECT_EQ(HexEncode(h.Finish()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(HexEncode(Sha256(a)),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// --- HMAC-SHA-256, RFC 4231 section 4 ---

TEST_F(CryptoTest, Rfc4231HmacSha256) {
  EXPECT_EQ(Hex(HmacSha256(Bytes(20, 0x0b), AsBytes("Hi There"))),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(Hex(HmacSha256(AsBytes("Jefe"), AsBytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: a key longer than the block size is hashed first.
  EXPECT_EQ(Hex(HmacSha256(Bytes(131, 0xaa),
                           AsBytes("Test Using Larger Than Block-Size Key - Hash Key First"))),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

// --- HKDF-SHA-256, RFC 5869 appendix A ---

TEST_F(CryptoTest, Rfc5869Case1) {
  Bytes ikm(22, 0x0b);
  Bytes salt = H("000102030405060708090a0b0c");
  Bytes info = H("f0f1f2f3f4f5f6f7f8f9");
  SecretBytes prk = HkdfExtract(salt, ikm);
  EXPECT_EQ(Hex(prk), "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
  const char* kOkm =
      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865";
  auto okm = HkdfExpand(prk.span(), info, 42);
  ASSERT_TRUE(okm.ok());
  EXPECT_EQ(Hex(*okm), kOkm);
  auto one_shot = Hkdf(salt, ikm, info, 42);
  ASSERT_TRUE(one_shot.ok());
  EXPECT_EQ(Hex(*one_shot), kOkm);
}

TEST_F(CryptoTest, Rfc5869Case2) {
  Bytes ikm = Range(0x00, 0x4f);
  Bytes salt = Range(0x60, 0xaf);
  Bytes info = Range(0xb0, 0xff);
  SecretBytes prk = HkdfExtract(salt, ikm);
  EXPECT_EQ(Hex(prk), "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244");
  const char* kOkm =
      "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
      "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
      "cc30c58179ec3e87c14c01d5c1f3434f1d87";
  auto okm = HkdfExpand(prk.span(), info, 82);
  ASSERT_TRUE(okm.ok());
  EXPECT_EQ(Hex(*okm), kOkm);
  auto one_shot = Hkdf(salt, ikm, info, 82);
  ASSERT_TRUE(one_shot.ok());
  EXPECT_EQ(Hex(*one_shot), kOkm);
}

TEST_F(CryptoTest, Rfc5869Case3) {
  // Zero-length salt and info.
  Bytes ikm(22, 0x0b);
  SecretBytes prk = HkdfExtract({}, ikm);
  EXPECT_EQ(Hex(prk), "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04");
  const char* kOkm =
      "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8";
  auto okm = HkdfExpand(prk.span(), {}, 42);
  ASSERT_TRUE(okm.ok());
  EXPECT_EQ(Hex(*okm), kOkm);
  auto one_shot = Hkdf({}, ikm, {}, 42);
  ASSERT_TRUE(one_shot.ok());
  EXPECT_EQ(Hex(*one_shot), kOkm);
}

TEST_F(CryptoTest, HkdfExpandLengthLimits) {
  SecretBytes prk = HkdfExtract({}, Bytes(22, 0x0b));
  EXPECT_EQ(HkdfExpand(prk.span(), {}, 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(HkdfExpand(prk.span(), {}, 255 * 32 + 1).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Hkdf({}, Bytes(22, 0x0b), {}, 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Hkdf({}, Bytes(22, 0x0b), {}, 255 * 32 + 1).status().code(),
            Code::kInvalidArgument);
  auto max = HkdfExpand(prk.span(), {}, 255 * 32);
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->size(), 255u * 32);
  auto one = HkdfExpand(prk.span(), {}, 1);
  ASSERT_TRUE(one.ok());
  // Shorter outputs are prefixes of longer ones.
  EXPECT_EQ(one->data()[0], max->data()[0]);
  // A PRK shorter than HashLen is refused (RFC 5869 section 2.3).
  EXPECT_EQ(HkdfExpand(Bytes(31, 1), {}, 32).status().code(), Code::kInvalidArgument);
}

// --- X25519, RFC 7748 ---

TEST_F(CryptoTest, Rfc7748Section5_2) {
  auto out = X25519Raw(H("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                       H("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(HexEncode(*out), "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
  // The second vector's u-coordinate has its top bit set, which is ignored.
  out = X25519Raw(H("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"),
                  H("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(HexEncode(*out), "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

TEST_F(CryptoTest, Rfc7748Iterations) {
  // k = u = 9; repeatedly k, u = X25519(k, u), k.
  Bytes k = H("0900000000000000000000000000000000000000000000000000000000000000");
  Bytes u = k;
  for (int i = 1; i <= 1000; ++i) {
    auto r = X25519Raw(k, u);
    ASSERT_TRUE(r.ok()) << "iteration " << i;
    u = std::move(k);
    k = std::move(*r);
    if (i == 1) {
      EXPECT_EQ(HexEncode(k), "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
    }
  }
  EXPECT_EQ(HexEncode(k), "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

TEST_F(CryptoTest, Rfc7748Section6_1DiffieHellman) {
  SecretBytes a = SecretBytes::CopyOf(
      H("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  SecretBytes b = SecretBytes::CopyOf(
      H("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  auto pa = DhPublicFromSecret(a);
  auto pb = DhPublicFromSecret(b);
  ASSERT_TRUE(pa.ok());
  ASSERT_TRUE(pb.ok());
  EXPECT_EQ(HexEncode(*pa), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(HexEncode(*pb), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  auto ka = X25519(a, *pb);
  auto kb = X25519(b, *pa);
  ASSERT_TRUE(ka.ok());
  ASSERT_TRUE(kb.ok());
  EXPECT_EQ(Hex(*ka), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_EQ(Hex(*kb), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
}

TEST_F(CryptoTest, X25519RejectsLowOrderPoints) {
  SecretBytes sk = SecretBytes::Random(kX25519KeySize);
  // u-coordinates of points of order 1, 2, 4 and 8, and their non-canonical
  // encodings (u + p); X25519 with any of them yields zero.
  const char* kLowOrder[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",  // 0
      "0100000000000000000000000000000000000000000000000000000000000000",  // 1
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p - 1
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p + 1
  };
  for (const char* u : kLowOrder) {
    EXPECT_EQ(X25519(sk, H(u)).status().code(), Code::kInvalidArgument) << u;
    EXPECT_EQ(X25519Raw(sk.span(), H(u)).status().code(), Code::kInvalidArgument) << u;
  }
  // Wrong sizes.
  DhKeyPair peer = GenerateDhKeyPair();
  EXPECT_EQ(X25519(sk, Bytes(31, 9)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(X25519(sk, Bytes(33, 9)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(X25519(SecretBytes::Random(31), peer.public_key).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(X25519Raw(Bytes(), peer.public_key).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(DhPublicFromSecret(SecretBytes::Random(16)).status().code(),
            Code::kInvalidArgument);
}

TEST_F(CryptoTest, GeneratedDhKeyPairsAgree) {
  DhKeyPair a = GenerateDhKeyPair();
  DhKeyPair b = GenerateDhKeyPair();
  ASSERT_EQ(a.public_key.size(), kX25519KeySize);
  ASSERT_EQ(a.secret_key.size(), kX25519KeySize);
  EXPECT_NE(a.public_key, b.public_key);
  auto pa = DhPublicFromSecret(a.secret_key);
  ASSERT_TRUE(pa.ok());
  EXPECT_EQ(*pa, a.public_key);
  auto ab = X25519(a.secret_key, b.public_key);
  auto ba = X25519(b.secret_key, a.public_key);
  ASSERT_TRUE(ab.ok());
  ASSERT_TRUE(ba.ok());
  EXPECT_TRUE(ConstantTimeEqual(ab->span(), ba->span()));
}

// --- Ed25519, RFC 8032 section 7.1 ---

struct Ed25519Vector {
  const char* name;
  const char* seed;
  const char* pk;
  const char* msg;
  const char* sig;
};

const Ed25519Vector kRfc8032[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
    // The message is SHA-512("abc").
    {"TEST SHA(abc)", "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
     "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"},
};

TEST_F(CryptoTest, Rfc8032Section7_1) {
  for (const auto& v : kRfc8032) {
    SCOPED_TRACE(v.name);
    auto kp = SigningKeyPairFromSeed(H(v.seed));
    ASSERT_TRUE(kp.ok());
    EXPECT_EQ(HexEncode(kp->public_key), v.pk);
    ASSERT_EQ(kp->secret_key.size(), kEd25519SecretKeySize);
    // libsodium's secret key is seed || public key.
    EXPECT_EQ(Hex(kp->secret_key), std::string(v.seed) + v.pk);
    Bytes msg = H(v.msg);
    auto sig = Sign(kp->secret_key, msg);
    ASSERT_TRUE(sig.ok());
    EXPECT_EQ(HexEncode(*sig), v.sig);
    EXPECT_TRUE(Verify(H(v.pk), msg, H(v.sig)).ok());

    auto again = SigningKeyPairFromSecret(kp->secret_key);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(HexEncode(again->public_key), v.pk);
  }
}

TEST_F(CryptoTest, Ed25519EverySingleBitFlipFailsVerification) {
  for (const auto& v : kRfc8032) {
    SCOPED_TRACE(v.name);
    Bytes pk = H(v.pk), msg = H(v.msg), sig = H(v.sig);
    ASSERT_TRUE(Verify(pk, msg, sig).ok());
    for (size_t i = 0; i < sig.size() * 8; ++i) {
      EXPECT_FALSE(Verify(pk, msg, FlipBit(sig, i)).ok()) << "signature bit " << i;
    }
    for (size_t i = 0; i < msg.size() * 8; ++i) {
      EXPECT_FALSE(Verify(pk, FlipBit(msg, i), sig).ok()) << "message bit " << i;
    }
    for (size_t i = 0; i < pk.size() * 8; ++i) {
      EXPECT_FALSE(Verify(FlipBit(pk, i), msg, sig).ok()) << "key bit " << i;
    }
    // Appending to or truncating the message fails too.
    Bytes longer = msg;
    longer.push_back(0);
    EXPECT_FALSE(Verify(pk, longer, sig).ok());
    if (!msg.empty()) {
      EXPECT_FALSE(Verify(pk, ByteSpan(msg.data(), msg.size() - 1), sig).ok());
    }
  }
}

TEST_F(CryptoTest, Ed25519SizesAndKeyHandling) {
  Bytes msg = ToBytes("message");
  SigningKeyPair kp = GenerateSigningKeyPair();
  ASSERT_EQ(kp.public_key.size(), kEd25519PublicKeySize);
  ASSERT_EQ(kp.secret_key.size(), kEd25519SecretKeySize);
  auto sig = Sign(kp.secret_key, msg);
  ASSERT_TRUE(sig.ok());
  ASSERT_EQ(sig->size(), kEd25519SignatureSize);
  EXPECT_TRUE(Verify(kp.public_key, msg, *sig).ok());
  EXPECT_EQ(Verify(kp.public_key, ToBytes("massage"), *sig).code(), Code::kUnauthenticated);
  // Wrong sizes are InvalidArgument, as documented.
  EXPECT_EQ(Verify(Bytes(31, 1), msg, *sig).code(), Code::kInvalidArgument);
  EXPECT_EQ(Verify(kp.public_key, msg, ByteSpan(sig->data(), 63)).code(),
            Code::kInvalidArgument);
  Bytes sig65 = *sig;
  sig65.push_back(0);
  EXPECT_EQ(Verify(kp.public_key, msg, sig65).code(), Code::kInvalidArgument);
  EXPECT_EQ(Verify(kp.public_key, msg, {}).code(), Code::kInvalidArgument);
  // Small-order public key (the identity point) is refused.
  Bytes identity(32, 0);
  identity[0] = 1;
  EXPECT_FALSE(Verify(identity, msg, *sig).ok());

  EXPECT_EQ(SigningKeyPairFromSeed(Bytes(31, 0)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(SigningKeyPairFromSeed(Bytes(64, 0)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Sign(SecretBytes::Random(32), msg).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(SigningKeyPairFromSecret(SecretBytes::Random(32)).status().code(),
            Code::kInvalidArgument);

  // A stored secret key whose public half does not belong to its seed is
  // refused rather than producing a pair that signs with the wrong key.
  auto rebuilt = SigningKeyPairFromSecret(kp.secret_key);
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_EQ(rebuilt->public_key, kp.public_key);
  for (size_t byte : {0u, 31u, 32u, 63u}) {
    SecretBytes corrupt = kp.secret_key.Clone();
    corrupt.data()[byte] ^= 0x01;
    EXPECT_EQ(SigningKeyPairFromSecret(corrupt).status().code(), Code::kInvalidArgument)
        << "byte " << byte;
  }
  // The key pair is deterministic in the seed.
  auto seed_kp = SigningKeyPairFromSeed(ByteSpan(kp.secret_key.data(), kEd25519SeedSize));
  ASSERT_TRUE(seed_kp.ok());
  EXPECT_EQ(seed_kp->public_key, kp.public_key);
}

// --- XChaCha20-Poly1305, draft-irtf-cfrg-xchacha-03 appendix A.3.1 ---

TEST_F(CryptoTest, XChaChaDraft03A31) {
  const std::string pt =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.";
  const Bytes aad = H("50515253c0c1c2c3c4c5c6c7");
  const Bytes key = H("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  const Bytes nonce = H("404142434445464748494a4b4c4d4e4f5051525354555657");
  const std::string ct =
      "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
      "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
      "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
      "21f9664c97637da9768812f615c68b13b52e";
  const std::string tag = "c0875924c1c7987947deafd8780acf49";

  auto sealed = AeadSealRaw(key, nonce, aad, AsBytes(pt));
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(HexEncode(*sealed), ct + tag);
  auto opened = AeadOpenRaw(key, nonce, aad, H(ct + tag));
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(ToString(*opened), pt);

  // The same through the SecretBytes-keyed API.
  SecretBytes k = SecretBytes::CopyOf(key);
  auto sealed2 = AeadSeal(k, nonce, aad, AsBytes(pt));
  ASSERT_TRUE(sealed2.ok());
  EXPECT_EQ(HexEncode(*sealed2), ct + tag);
  auto opened2 = AeadOpen(k, nonce, aad, *sealed2);
  ASSERT_TRUE(opened2.ok());
  EXPECT_EQ(ToString(opened2->span()), pt);
}

TEST_F(CryptoTest, AeadRejectsEveryTamperedByte) {
  SecretBytes key = SecretBytes::Random(kAeadKeySize);
  Bytes nonce = RandomBytes(kAeadNonceSize);
  Bytes aad = ToBytes("header");
  Bytes pt = ToBytes("a secret note, long enough to span more than one block of the cipher");
  auto ct = AeadSeal(key, nonce, aad, pt);
  ASSERT_TRUE(ct.ok());
  ASSERT_EQ(ct->size(), pt.size() + kAeadTagSize);
  auto ok = AeadOpen(key, nonce, aad, *ct);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ToString(ok->span()), ToString(pt));

  // Flip each byte of ciphertext||tag in turn (low bit, high bit, all bits).
  for (size_t i = 0; i < ct->size(); ++i) {
    for (int mask : {0x01, 0x80, 0xff}) {
      Bytes t = *ct;
      t[i] ^= static_cast<uint8_t>(mask);
      EXPECT_EQ(AeadOpen(key, nonce, aad, t).status().code(), Code::kUnauthenticated)
          << "byte " << i << " mask " << mask;
    }
  }
  // Truncated or extended.
  for (size_t n = 0; n < ct->size(); ++n) {
    EXPECT_EQ(AeadOpen(key, nonce, aad, ByteSpan(ct->data(), n)).status().code(),
              Code::kUnauthenticated)
        << "length " << n;
  }
  Bytes extended = *ct;
  extended.push_back(0);
  EXPECT_EQ(AeadOpen(key, nonce, aad, extended).status().code(), Code::kUnauthenticated);

  // Wrong aad, nonce or key.
  EXPECT_EQ(AeadOpen(key, nonce, ToBytes("headex"), *ct).status().code(),
            Code::kUnauthenticated);
  EXPECT_EQ(AeadOpen(key, nonce, {}, *ct).status().code(), Code::kUnauthenticated);
  for (size_t i = 0; i < nonce.size(); ++i) {
    Bytes n = nonce;
    n[i] ^= 0x01;
    EXPECT_EQ(AeadOpen(key, n, aad, *ct).status().code(), Code::kUnauthenticated) << i;
  }
  SecretBytes other_key = key.Clone();
  other_key.data()[0] ^= 0x01;
  EXPECT_EQ(AeadOpen(other_key, nonce, aad, *ct).status().code(), Code::kUnauthenticated);
}

TEST_F(CryptoTest, AeadEmptyPlaintextAndSizes) {
  SecretBytes key = SecretBytes::Random(kAeadKeySize);
  Bytes nonce = RandomBytes(kAeadNonceSize);
  auto empty = AeadSeal(key, nonce, {}, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), kAeadTagSize);
  auto opened = AeadOpen(key, nonce, {}, *empty);
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->empty());
  // Empty plaintext is still authenticated (the tag covers the aad).
  auto with_aad = AeadSeal(key, nonce, ToBytes("aad"), {});
  ASSERT_TRUE(with_aad.ok());
  EXPECT_TRUE(AeadOpen(key, nonce, ToBytes("aad"), *with_aad).ok());
  EXPECT_EQ(AeadOpen(key, nonce, {}, *with_aad).status().code(), Code::kUnauthenticated);
  Bytes bad_tag = *empty;
  bad_tag[3] ^= 0x10;
  EXPECT_EQ(AeadOpen(key, nonce, {}, bad_tag).status().code(), Code::kUnauthenticated);

  // Key and nonce sizes are checked in both directions.
  for (size_t n : {0u, 12u, 23u, 25u, 32u}) {
    EXPECT_EQ(AeadSeal(key, Bytes(n, 0), {}, ToBytes("x")).status().code(),
              Code::kInvalidArgument)
        << n;
    EXPECT_EQ(AeadOpen(key, Bytes(n, 0), {}, *empty).status().code(), Code::kInvalidArgument)
        << n;
  }
  for (size_t n : {0u, 16u, 31u, 33u}) {
    SecretBytes k = SecretBytes::Random(n);
    EXPECT_EQ(AeadSeal(k, nonce, {}, ToBytes("x")).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(AeadOpen(k, nonce, {}, *empty).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(AeadSealRaw(Bytes(n, 1), nonce, {}, ToBytes("x")).status().code(),
              Code::kInvalidArgument);
    EXPECT_EQ(AeadOpenRaw(Bytes(n, 1), nonce, {}, *empty).status().code(),
              Code::kInvalidArgument);
  }
  // Two seals under different nonces differ.
  auto a = AeadSeal(key, RandomBytes(kAeadNonceSize), {}, ToBytes("same"));
  auto b = AeadSeal(key, RandomBytes(kAeadNonceSize), {}, ToBytes("same"));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_NE(*a, *b);
}

// --- Argon2id ---

TEST_F(CryptoTest, Argon2idDeterministicAndInputSensitive) {
  const Argon2Params fast{1, 8192};  // libsodium's minimum opslimit and memlimit
  const Bytes salt(kArgon2SaltSize, 7);
  const Bytes salt2(kArgon2SaltSize, 8);
  auto a = Argon2id(AsBytes("correct horse"), salt, fast, 32);
  auto b = Argon2id(AsBytes("correct horse"), salt, fast, 32);
  auto c = Argon2id(AsBytes("correct horse"), salt2, fast, 32);
  auto d = Argon2id(AsBytes("correct horsf"), salt, fast, 32);
  auto e = Argon2id(AsBytes("correct horse"), salt, Argon2Params{2, 8192}, 32);
  auto f = Argon2id(AsBytes(""), salt, fast, 32);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_EQ(Hex(*a), Hex(*b));
  EXPECT_NE(Hex(*a), Hex(*c));
  EXPECT_NE(Hex(*a), Hex(*d));
  EXPECT_NE(Hex(*a), Hex(*e));
  EXPECT_NE(Hex(*a), Hex(*f));
  auto longer = Argon2id(AsBytes("correct horse"), salt, fast, 64);
  ASSERT_TRUE(longer.ok());
  EXPECT_EQ(longer->size(), 64u);
}

TEST_F(CryptoTest, Argon2idKnownAnswer) {
  // Reference implementation (github.com/P-H-C/phc-winner-argon2):
  //   echo -n 123 | ./argon2 ABCDEFGHIJKLMNOP -id -v 13 -k 1024 -t 5 -p 1
  auto out = Argon2id(AsBytes("123"), AsBytes("ABCDEFGHIJKLMNOP"), Argon2Params{5, 1024 * 1024},
                      32);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Hex(*out), "3c5d010180ba0cf5b6b858cba23b318e42d33088983c404598599c3b029ecac6");
}

TEST_F(CryptoTest, Argon2idRejectsBadParameters) {
  const Argon2Params fast{1, 8192};
  const Bytes salt(kArgon2SaltSize, 7);
  for (size_t n : {0u, 8u, 15u, 17u, 32u}) {
    EXPECT_EQ(Argon2id(AsBytes("pass"), Bytes(n, 1), fast, 32).status().code(),
              Code::kInvalidArgument)
        << "salt size " << n;
  }
  EXPECT_EQ(Argon2id(AsBytes("pass"), salt, Argon2Params{0, 8192}, 32).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Argon2id(AsBytes("pass"), salt, Argon2Params{1, 8191}, 32).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Argon2id(AsBytes("pass"), salt, fast, 15).status().code(), Code::kInvalidArgument);
}

TEST_F(CryptoTest, Argon2idDefaultParams) {
  Argon2Params p = DefaultArgon2Params();
  EXPECT_EQ(p.opslimit, 2u);
  EXPECT_EQ(p.memlimit, 64u * 1024 * 1024);
  const Bytes salt(kArgon2SaltSize, 1);
  auto a = Argon2id(AsBytes("passphrase"), salt, p, 32);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->size(), 32u);
  auto fast = Argon2id(AsBytes("passphrase"), salt, Argon2Params{1, 8192}, 32);
  ASSERT_TRUE(fast.ok());
  EXPECT_NE(Hex(*a), Hex(*fast));
}

// --- SecretBytes, ConstantTimeEqual, Wipe, RandomBytes ---

TEST_F(CryptoTest, SecretBytesRandomDiffers) {
  SecretBytes a = SecretBytes::Random(32);
  SecretBytes b = SecretBytes::Random(32);
  ASSERT_EQ(a.size(), 32u);
  ASSERT_EQ(b.size(), 32u);
  EXPECT_FALSE(ConstantTimeEqual(a.span(), b.span()));
  EXPECT_FALSE(ConstantTimeEqual(a.span(), Bytes(32, 0)));
  SecretBytes none = SecretBytes::Random(0);
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.size(), 0u);
}

TEST_F(CryptoTest, SecretBytesZeroFilledAndCopyOf) {
  SecretBytes z(24);
  ASSERT_EQ(z.size(), 24u);
  EXPECT_FALSE(z.empty());
  EXPECT_TRUE(ConstantTimeEqual(z.span(), Bytes(24, 0)));
  EXPECT_TRUE(SecretBytes().empty());
  EXPECT_EQ(SecretBytes().data(), nullptr);

  Bytes src = Range(1, 40);
  SecretBytes c = SecretBytes::CopyOf(src);
  ASSERT_EQ(c.size(), src.size());
  EXPECT_TRUE(ConstantTimeEqual(c.span(), src));
  EXPECT_NE(c.data(), src.data());
  src[0] = 0xff;  // the copy does not alias the source
  EXPECT_EQ(c.data()[0], 1);
  EXPECT_TRUE(SecretBytes::CopyOf({}).empty());
  // mutable_span writes through.
  c.mutable_span()[1] = 0x77;
  EXPECT_EQ(c.span()[1], 0x77);
}

TEST_F(CryptoTest, SecretBytesCloneIsDeep) {
  SecretBytes a = SecretBytes::Random(32);
  SecretBytes c = a.Clone();
  ASSERT_EQ(c.size(), a.size());
  EXPECT_NE(c.data(), a.data());
  EXPECT_TRUE(ConstantTimeEqual(a.span(), c.span()));
  Bytes before(a.span().begin(), a.span().end());
  c.data()[0] ^= 0xff;
  c.data()[31] ^= 0xff;
  EXPECT_TRUE(ConstantTimeEqual(a.span(), before));
  EXPECT_FALSE(ConstantTimeEqual(a.span(), c.span()));
  EXPECT_TRUE(SecretBytes().Clone().empty());
}

TEST_F(CryptoTest, SecretBytesMoveLeavesSourceEmpty) {
  SecretBytes a = SecretBytes::CopyOf(Range(0, 31));
  const uint8_t* p = a.data();
  SecretBytes b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): checked on purpose
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(b.data(), p);  // moved, not copied
  EXPECT_TRUE(ConstantTimeEqual(b.span(), Range(0, 31)));

  SecretBytes c = SecretBytes::Random(8);
  c = std::move(b);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_EQ(c.data(), p);
  EXPECT_EQ(c.size(), 32u);
  EXPECT_TRUE(ConstantTimeEqual(c.span(), Range(0, 31)));
  // A moved-from object is reusable.
  b = SecretBytes::Random(4);
  EXPECT_EQ(b.size(), 4u);

  std::vector<SecretBytes> v;
  for (int i = 0; i < 20; ++i) v.push_back(SecretBytes::CopyOf(Bytes(4, static_cast<uint8_t>(i))));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(v[i].data()[3], i);
}

// Released small buffers are reused (core/crypto/crypto.cc, SecretCache):
// whatever a secret held is wiped before its buffer is handed out again,
// on the same thread or another, and buffers of every size stay usable.
TEST_F(CryptoTest, SecretBytesReusedBuffersComeBackWiped) {
  const uint8_t* first = nullptr;
  {
    SecretBytes a = SecretBytes::CopyOf(Bytes(32, 0xa5));
    first = a.data();
  }
  SecretBytes b(32);
  EXPECT_EQ(b.data(), first);  // the same buffer, reused
  EXPECT_TRUE(ConstantTimeEqual(b.span(), Bytes(32, 0)));
  // Many at once: more than the cache keeps, of several sizes.
  for (int round = 0; round < 3; ++round) {
    std::vector<SecretBytes> v;
    for (int i = 0; i < 200; ++i) {
      size_t size = 1 + static_cast<size_t>(i % 150);
      v.push_back(SecretBytes::CopyOf(Bytes(size, 0xff)));
    }
    for (const auto& s : v) EXPECT_TRUE(ConstantTimeEqual(s.span(), Bytes(s.size(), 0xff)));
    v.clear();
    for (int i = 0; i < 200; ++i) {
      SecretBytes z(1 + static_cast<size_t>(i % 150));
      ASSERT_TRUE(ConstantTimeEqual(z.span(), Bytes(z.size(), 0))) << "size " << z.size();
    }
  }
  // Released on one thread, reused on another: still wiped.
  SecretBytes moved = SecretBytes::CopyOf(Bytes(48, 0x77));
  std::thread t([s = std::move(moved)]() mutable { SecretBytes gone = std::move(s); });
  t.join();
  std::thread t2([] {
    for (int i = 0; i < 20; ++i) {
      SecretBytes z(48);
      EXPECT_TRUE(ConstantTimeEqual(z.span(), Bytes(48, 0)));
    }
  });
  t2.join();
}

TEST_F(CryptoTest, ConstantTimeEqual) {
  Bytes a = Range(0, 63);
  Bytes b = a;
  EXPECT_TRUE(ConstantTimeEqual(a, b));
  EXPECT_TRUE(ConstantTimeEqual({}, {}));
  for (size_t i = 0; i < a.size(); ++i) {
    Bytes t = a;
    t[i] ^= 0x01;
    EXPECT_FALSE(ConstantTimeEqual(a, t)) << i;
  }
  // Different lengths never compare equal, even when one is a prefix.
  EXPECT_FALSE(ConstantTimeEqual(a, ByteSpan(a.data(), 63)));
  EXPECT_FALSE(ConstantTimeEqual(ByteSpan(a.data(), 1), a));
  EXPECT_FALSE(ConstantTimeEqual({}, a));
  EXPECT_FALSE(ConstantTimeEqual(a, {}));
}

TEST_F(CryptoTest, WipeAndRandomBytes) {
  Bytes b = Range(1, 16);
  Wipe(std::span<uint8_t>(b));
  EXPECT_EQ(b, Bytes(16, 0));
  std::string s = "passphrase";
  Wipe(s);
  EXPECT_TRUE(s.empty());
  Wipe(std::span<uint8_t>());

  Bytes r1 = RandomBytes(32), r2 = RandomBytes(32);
  EXPECT_EQ(r1.size(), 32u);
  EXPECT_NE(r1, r2);
  EXPECT_TRUE(RandomBytes(0).empty());
  EXPECT_NE(RandomUint64(), RandomUint64());
}

// --- Fingerprints ---

bool IsFingerprintFormat(const std::string& fp) {
  if (fp.size() != 6 * 5 + 5) return false;
  for (size_t i = 0; i < fp.size(); ++i) {
    bool want_space = i % 6 == 5;
    if (want_space != (fp[i] == ' ')) return false;
    if (!want_space && !std::isdigit(static_cast<unsigned char>(fp[i]))) return false;
  }
  return true;
}

TEST_F(CryptoTest, FingerprintFormat) {
  for (int i = 0; i < 200; ++i) {
    std::string fp = Fingerprint("vigil/identity", RandomBytes(32));
    EXPECT_TRUE(IsFingerprintFormat(fp)) << "'" << fp << "'";
  }
  EXPECT_TRUE(IsFingerprintFormat(Fingerprint("", {})));
  EXPECT_FALSE(IsFingerprintFormat("12345 67890 12345 67890 12345 6789"));
  EXPECT_FALSE(IsFingerprintFormat("12345  67890 12345 67890 12345 6789"));
  EXPECT_FALSE(IsFingerprintFormat("12345 67890 12345 67890 12345 67890 "));
}

TEST_F(CryptoTest, FingerprintStableAndDistinct) {
  Bytes key = RandomBytes(32);
  std::string fp = Fingerprint("vigil/identity", key);
  EXPECT_EQ(fp, Fingerprint("vigil/identity", key));
  EXPECT_NE(fp, Fingerprint("vigil/device", key));
  EXPECT_NE(fp, Fingerprint("vigil/identity", RandomBytes(32)));
  EXPECT_NE(fp, Fingerprint("vigil/identity", FlipBit(key, 0)));
  EXPECT_NE(fp, Fingerprint("vigil/identity", FlipBit(key, 255)));
}

TEST_F(CryptoTest, FingerprintKnownAnswers) {
  // SHA-256(label || 0x00 || key); groups are bytes [5g, 5g+5) read
  // big-endian, mod 100000, zero-padded. Values computed independently with
  // Python's hashlib. Fingerprints are shown to users, so they must never
  // change for a given key.
  EXPECT_EQ(Fingerprint("vigil/identity", Range(0, 31)),
            "48684 79242 64305 28056 56117 60895");
  EXPECT_EQ(Fingerprint("vigil/identity", Bytes(32, 14)),
            "75964 00418 23299 78397 37309 34125");  // leading zeros kept
  EXPECT_EQ(Fingerprint("", {}), "78879 67909 21770 71615 93221 29519");
}

// --- secretstream (attachments) ---

TEST(CryptoStreamTest, RoundTripsAndDetectsTruncationReorderAndTampering) {
  ASSERT_TRUE(InitCrypto().ok());
  SecretBytes key = SecretBytes::Random(kStreamKeySize);
  Bytes header;
  auto enc = StreamEncryptor::Start(key, &header);
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(header.size(), kStreamHeaderSize);
  std::vector<Bytes> chunks;
  for (int i = 0; i < 3; ++i) {
    auto c = enc->Push(Bytes(1000, static_cast<uint8_t>(i)), i == 2);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->size(), 1000 + kStreamOverhead);
    chunks.push_back(std::move(*c));
  }
  auto pull_all = [&](const std::vector<Bytes>& cs, bool* ended) -> bool {
    auto dec = StreamDecryptor::Start(key, header);
    if (!dec.ok()) return false;
    *ended = false;
    for (size_t i = 0; i < cs.size(); ++i) {
      bool fin = false;
      auto pt = dec->Pull(cs[i], &fin);
      if (!pt.ok()) return false;
      if (fin) *ended = true;
    }
    return true;
  };
  bool ended = false;
  EXPECT_TRUE(pull_all(chunks, &ended));
  EXPECT_TRUE(ended);
  EXPECT_TRUE(pull_all({chunks[0], chunks[1]}, &ended));
  EXPECT_FALSE(ended) << "a truncated stream must not look complete";
  EXPECT_FALSE(pull_all({chunks[1], chunks[0], chunks[2]}, &ended));
  EXPECT_FALSE(pull_all({chunks[0], chunks[2]}, &ended));
  Bytes t = chunks[1];
  t[5] ^= 1;
  EXPECT_FALSE(pull_all({chunks[0], t, chunks[2]}, &ended));
  EXPECT_FALSE(pull_all({chunks[0], chunks[1], chunks[2], chunks[2]}, &ended));
  EXPECT_FALSE(pull_all({Bytes(kStreamOverhead - 1, 0)}, &ended));

  // Plaintext comes back intact.
  auto dec = StreamDecryptor::Start(key, header);
  ASSERT_TRUE(dec.ok());
  bool fin = false;
  auto first = dec->Pull(chunks[0], &fin);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(fin);
  EXPECT_TRUE(ConstantTimeEqual(first->span(), Bytes(1000, 0)));

  // Wrong key, wrong header sizes.
  auto wrong = StreamDecryptor::Start(SecretBytes::Random(kStreamKeySize), header);
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->Pull(chunks[0], &fin).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(StreamDecryptor::Start(key, Bytes(23, 0)).status().code(), Code::kInvalidArgument);
  Bytes h2;
  EXPECT_EQ(StreamEncryptor::Start(SecretBytes::Random(16), &h2).status().code(),
            Code::kInvalidArgument);
}

}  // namespace
}  // namespace vigil::crypto
