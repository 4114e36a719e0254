// Published test vectors, checked byte for byte: RFC 5869 (HKDF-SHA-256),
// RFC 7748 (X25519), RFC 8032 (Ed25519), draft-irtf-cfrg-xchacha-03
// (XChaCha20-Poly1305); plus the wrappers' own contracts.
#include "vigil/crypto.h"

#include <gtest/gtest.h>

#include <set>

namespace vigil::crypto {
namespace {

Bytes H(std::string_view hex) {
  auto b = HexDecode(hex);
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : Bytes();
}

std::string Hex(const SecretBytes& s) { return HexEncode(s.span()); }

class CryptoTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(InitCrypto().ok()); }
};

// --- RFC 5869 appendix A ---

TEST_F(CryptoTest, Rfc5869Case1) {
  Bytes ikm(22, 0x0b);
  Bytes salt = H("000102030405060708090a0b0c");
  Bytes info = H("f0f1f2f3f4f5f6f7f8f9");
  SecretBytes prk = HkdfExtract(salt, ikm);
  EXPECT_EQ(Hex(prk), "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
  auto okm = HkdfExpand(prk.span(), info, 42);
  ASSERT_TRUE(okm.ok());
  EXPECT_EQ(Hex(*okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST_F(CryptoTest, Rfc5869Case2) {
  Bytes ikm, salt, info;
  for (int i = 0x00; i <= 0x4f; ++i) ikm.push_back(static_cast<uint8_t>(i));
  for (int i = 0x60; i <= 0xaf; ++i) salt.push_back(static_cast<uint8_t>(i));
  for (int i = 0xb0; i <= 0xff; ++i) info.push_back(static_cast<uint8_t>(i));
  SecretBytes prk = HkdfExtract(salt, ikm);
  EXPECT_EQ(Hex(prk), "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244");
  auto okm = Hkdf(salt, ikm, info, 82);
  ASSERT_TRUE(okm.ok());
  EXPECT_EQ(Hex(*okm),
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
            "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
            "cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

TEST_F(CryptoTest, Rfc5869Case3) {
  Bytes ikm(22, 0x0b);
  SecretBytes prk = HkdfExtract({}, ikm);
  EXPECT_EQ(Hex(prk), "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04");
  auto okm = Hkdf({}, ikm, {}, 42);
  ASSERT_TRUE(okm.ok());
  EXPECT_EQ(Hex(*okm),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST_F(CryptoTest, HkdfLengthLimits) {
  SecretBytes prk = HkdfExtract({}, Bytes(22, 0x0b));
  EXPECT_FALSE(HkdfExpand(prk.span(), {}, 0).ok());
  EXPECT_FALSE(HkdfExpand(prk.span(), {}, 255 * 32 + 1).ok());
  EXPECT_TRUE(HkdfExpand(prk.span(), {}, 255 * 32).ok());
}

// --- RFC 7748 ---

TEST_F(CryptoTest, Rfc7748Section5_2) {
  auto out = X25519Raw(H("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                       H("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(HexEncode(*out), "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
  out = X25519Raw(H("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"),
                  H("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(HexEncode(*out), "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

TEST_F(CryptoTest, Rfc7748Iterations) {
  Bytes k = H("0900000000000000000000000000000000000000000000000000000000000000");
  Bytes u = k;
  for (int i = 1; i <= 1000; ++i) {
    auto r = X25519Raw(k, u);
    ASSERT_TRUE(r.ok());
    u = k;
    k = *r;
    if (i == 1) {
      EXPECT_EQ(HexEncode(k), "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
    }
  }
  EXPECT_EQ(HexEncode(k), "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

TEST_F(CryptoTest, Rfc7748DiffieHellman) {
  SecretBytes a = SecretBytes::CopyOf(H("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  SecretBytes b = SecretBytes::CopyOf(H("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  auto pa = DhPublicFromSecret(a);
  auto pb = DhPublicFromSecret(b);
  ASSERT_TRUE(pa.ok() && pb.ok());
  EXPECT_EQ(HexEncode(*pa), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(HexEncode(*pb), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  auto ka = X25519(a, *pb);
  auto kb = X25519(b, *pa);
  ASSERT_TRUE(ka.ok() && kb.ok());
  EXPECT_EQ(Hex(*ka), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_EQ(Hex(*kb), Hex(*ka));
}

TEST_F(CryptoTest, X25519RefusesLowOrderPoints) {
  SecretBytes sk = SecretBytes::Random(32);
  EXPECT_EQ(X25519(sk, Bytes(32, 0)).status().code(), Code::kInvalidArgument);
  Bytes one(32, 0);
  one[0] = 1;
  EXPECT_FALSE(X25519(sk, one).ok());
  EXPECT_FALSE(X25519(sk, Bytes(31, 9)).ok());
}

// --- RFC 8032 section 7.1 ---

struct Ed25519Vector {
  const char* seed;
  const char* pk;
  const char* msg;
  const char* sig;
};

const Ed25519Vector kEd25519[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b4"
     "6bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d"
     "8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6"
     "594a7c15e9716ed28dc027beceea1ec40a"},
};

TEST_F(CryptoTest, Rfc8032Vectors) {
  for (const auto& v : kEd25519) {
    auto kp = SigningKeyPairFromSeed(H(v.seed));
    ASSERT_TRUE(kp.ok());
    EXPECT_EQ(HexEncode(kp->public_key), v.pk);
    Bytes msg = H(v.msg);
    auto sig = Sign(kp->secret_key, msg);
    ASSERT_TRUE(sig.ok());
    EXPECT_EQ(HexEncode(*sig), v.sig);
    EXPECT_TRUE(Verify(kp->public_key, msg, *sig).ok());
    // Every single-bit flip of signature, message or key fails.
    for (size_t i = 0; i < sig->size() * 8; ++i) {
      Bytes s = *sig;
      s[i / 8] ^= static_cast<uint8_t>(1u << (i % 8));
      EXPECT_FALSE(Verify(kp->public_key, msg, s).ok()) << "sig bit " << i;
    }
    for (size_t i = 0; i < msg.size() * 8; ++i) {
      Bytes m = msg;
      m[i / 8] ^= static_cast<uint8_t>(1u << (i % 8));
      EXPECT_FALSE(Verify(kp->public_key, m, *sig).ok()) << "msg bit " << i;
    }
    for (size_t i = 0; i < 32 * 8; ++i) {
      Bytes pk = kp->public_key;
      pk[i / 8] ^= static_cast<uint8_t>(1u << (i % 8));
      EXPECT_FALSE(Verify(pk, msg, *sig).ok()) << "key bit " << i;
    }
    auto again = SigningKeyPairFromSecret(kp->secret_key);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->public_key, kp->public_key);
  }
}

// --- XChaCha20-Poly1305, draft-irtf-cfrg-xchacha-03 A.3.1 ---

TEST_F(CryptoTest, XChaChaDraftVector) {
  std::string pt =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, "
      "sunscreen would be it.";
  Bytes aad = H("50515253c0c1c2c3c4c5c6c7");
  Bytes key = H("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  Bytes nonce = H("404142434445464748494a4b4c4d4e4f5051525354555657");
  auto ct = AeadSealRaw(key, nonce, aad, AsBytes(pt));
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(HexEncode(*ct),
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4e"
            "da7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2"
            "383565d3fff921f9664c97637da9768812f615c68b13b52e"
            "c0875924c1c7987947deafd8780acf49");
  auto back = AeadOpenRaw(key, nonce, aad, *ct);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(ToString(*back), pt);
}

TEST_F(CryptoTest, AeadRejectsEveryFlippedByte) {
  SecretBytes key = SecretBytes::Random(kAeadKeySize);
  Bytes nonce = RandomBytes(kAeadNonceSize);
  Bytes aad = ToBytes("header");
  auto ct = AeadSeal(key, nonce, aad, ToBytes("a secret note"));
  ASSERT_TRUE(ct.ok());
  for (size_t i = 0; i < ct->size(); ++i) {
    Bytes t = *ct;
    t[i] ^= 0x01;
    EXPECT_EQ(AeadOpen(key, nonce, aad, t).status().code(), Code::kUnauthenticated) << i;
  }
  EXPECT_FALSE(AeadOpen(key, nonce, ToBytes("other"), *ct).ok());
  Bytes other_nonce = nonce;
  other_nonce[0] ^= 1;
  EXPECT_FALSE(AeadOpen(key, other_nonce, aad, *ct).ok());
  EXPECT_FALSE(AeadOpen(key, nonce, aad, Bytes(10, 0)).ok());
  EXPECT_FALSE(AeadSeal(key, Bytes(12, 0), aad, ToBytes("x")).ok());
  auto empty = AeadSeal(key, nonce, aad, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), kAeadTagSize);
  auto opened = AeadOpen(key, nonce, aad, *empty);
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->empty());
}

// --- Argon2id ---

TEST_F(CryptoTest, Argon2idIsDeterministicAndSaltedAndBounded) {
  Argon2Params fast{1, 8192};
  Bytes salt(16, 7), salt2(16, 8);
  auto a = Argon2id(AsBytes("pass"), salt, fast, 32);
  auto b = Argon2id(AsBytes("pass"), salt, fast, 32);
  auto c = Argon2id(AsBytes("pass"), salt2, fast, 32);
  auto d = Argon2id(AsBytes("pasS"), salt, fast, 32);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok());
  EXPECT_EQ(Hex(*a), Hex(*b));
  EXPECT_NE(Hex(*a), Hex(*c));
  EXPECT_NE(Hex(*a), Hex(*d));
  EXPECT_FALSE(Argon2id(AsBytes("pass"), Bytes(15, 0), fast, 32).ok());
  EXPECT_FALSE(Argon2id(AsBytes("pass"), salt, Argon2Params{0, 8192}, 32).ok());
  EXPECT_TRUE(Argon2id(AsBytes("pass"), salt, DefaultArgon2Params(), 32).ok());
}

// --- SecretBytes and helpers ---

TEST_F(CryptoTest, SecretBytesSemantics) {
  SecretBytes a = SecretBytes::Random(32), b = SecretBytes::Random(32);
  EXPECT_FALSE(ConstantTimeEqual(a.span(), b.span()));
  SecretBytes c = a.Clone();
  EXPECT_TRUE(ConstantTimeEqual(a.span(), c.span()));
  EXPECT_NE(a.data(), c.data());
  SecretBytes moved = std::move(c);
  EXPECT_TRUE(c.empty());  // NOLINT: checking the moved-from state on purpose
  EXPECT_EQ(moved.size(), 32u);
  EXPECT_FALSE(ConstantTimeEqual(a.span(), ByteSpan(a.data(), 31)));
  EXPECT_TRUE(ConstantTimeEqual({}, {}));
}

TEST_F(CryptoTest, FingerprintFormat) {
  Bytes key = RandomBytes(32);
  std::string fp = Fingerprint("vigil/identity", key);
  ASSERT_EQ(fp.size(), 6u * 5 + 5);
  for (size_t i = 0; i < fp.size(); ++i) {
    if (i % 6 == 5) EXPECT_EQ(fp[i], ' ');
    else EXPECT_TRUE(isdigit(static_cast<unsigned char>(fp[i])));
  }
  EXPECT_EQ(fp, Fingerprint("vigil/identity", key));
  EXPECT_NE(fp, Fingerprint("vigil/device", key));
  EXPECT_NE(fp, Fingerprint("vigil/identity", RandomBytes(32)));
}

TEST(BytesTest, HexAndBase64RoundTripAndRejectGarbage) {
  Bytes b = {0, 1, 0xfe, 0xff, 0x10};
  EXPECT_EQ(HexEncode(b), "0001feff10");
  EXPECT_EQ(*HexDecode("0001FEff10"), b);
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
  EXPECT_EQ(*Base64UrlDecode(Base64UrlEncode(b)), b);
  EXPECT_EQ(*Base64Decode(Base64Encode(b)), b);
  EXPECT_EQ(Base64Encode(ToBytes("hello")), "aGVsbG8=");
  EXPECT_FALSE(Base64UrlDecode("a+b/").ok());
  EXPECT_FALSE(Base64Decode("aGVsbG8=!").ok());
}

}  // namespace
}  // namespace vigil::crypto

namespace vigil::crypto {
namespace {

TEST(CryptoStreamTest, RoundTripsAndDetectsTruncationReorderAndTampering) {
  ASSERT_TRUE(InitCrypto().ok());
  SecretBytes key = SecretBytes::Random(kStreamKeySize);
  Bytes header;
  auto enc = StreamEncryptor::Start(key, &header);
  ASSERT_TRUE(enc.ok());
  std::vector<Bytes> chunks;
  for (int i = 0; i < 3; ++i) chunks.push_back(*enc->Push(Bytes(1000, static_cast<uint8_t>(i)), i == 2));
  auto pull_all = [&](const std::vector<Bytes>& cs, bool* ended) -> bool {
    auto dec = StreamDecryptor::Start(key, header);
    if (!dec.ok()) return false;
    *ended = false;
    for (const auto& c : cs) {
      bool fin = false;
      if (!dec->Pull(c, &fin).ok()) return false;
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
  Bytes t = chunks[1];
  t[5] ^= 1;
  EXPECT_FALSE(pull_all({chunks[0], t, chunks[2]}, &ended));
  EXPECT_FALSE(pull_all({chunks[0], chunks[1], chunks[2], chunks[2]}, &ended));
}

}  // namespace
}  // namespace vigil::crypto
