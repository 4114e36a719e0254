// RFC 9162 hashing and proofs against the published certificate-transparency
// test vectors (RFC 6962 / RFC 9162 test data: 8 leaves), frozen here.
#include <gtest/gtest.h>

#include "vigil/crypto.h"
#include "vigil/evidence.h"

namespace vigil::evidence {
namespace {

const char* kLeafData[] = {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                           "606162636465666768696a6b6c6d6e6f"};
const char* kRoots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

struct ProofVector {
  uint64_t a, size;
  std::vector<const char*> proof;
};
const ProofVector kInclusion[] = {
    {0, 1, {}},
    {0, 8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5, 8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1, 5,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};
const ProofVector kConsistency[] = {
    {1, 1, {}},
    {1, 8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6, 8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

class MerkleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    for (const char* d : kLeafData) leaves_.push_back(LeafHash(*HexDecode(d)));
  }
  Bytes Root(uint64_t n) { return *HexDecode(kRoots[n]); }
  std::vector<Bytes> leaves_;
};

TEST_F(MerkleTest, RootsMatchPublishedVectors) {
  for (uint64_t n = 0; n <= 8; ++n) EXPECT_EQ(HexEncode(MerkleRoot(leaves_, n)), kRoots[n]) << n;
}

TEST_F(MerkleTest, InclusionProofsMatchVectorsAndVerify) {
  for (const auto& v : kInclusion) {
    auto p = InclusionProof(leaves_, v.a, v.size);
    ASSERT_TRUE(p.ok());
    ASSERT_EQ(p->size(), v.proof.size());
    for (size_t i = 0; i < p->size(); ++i) EXPECT_EQ(HexEncode((*p)[i]), v.proof[i]);
    EXPECT_TRUE(VerifyInclusion(leaves_[v.a], v.a, v.size, *p, Root(v.size)).ok());
  }
}

TEST_F(MerkleTest, ConsistencyProofsMatchVectorsAndVerify) {
  for (const auto& v : kConsistency) {
    std::vector<Bytes> p;
    if (v.a != v.size) {
      auto got = ConsistencyProof(leaves_, v.a, v.size);
      ASSERT_TRUE(got.ok());
      p = *got;
    }
    ASSERT_EQ(p.size(), v.proof.size()) << v.a << "->" << v.size;
    for (size_t i = 0; i < p.size(); ++i) EXPECT_EQ(HexEncode(p[i]), v.proof[i]);
    EXPECT_TRUE(VerifyConsistency(v.a, v.size, Root(v.a), Root(v.size), p).ok()) << v.a << "->" << v.size;
  }
}

TEST_F(MerkleTest, EveryProofUpTo33LeavesVerifiesAndAnyLieFails) {
  std::vector<Bytes> h;
  for (int i = 0; i < 33; ++i) h.push_back(LeafHash(AsBytes("leaf-" + std::to_string(i))));
  for (uint64_t n = 1; n <= 33; ++n) {
    Bytes root = MerkleRoot(h, n);
    for (uint64_t m = 0; m < n; ++m) {
      auto p = *InclusionProof(h, m, n);
      ASSERT_TRUE(VerifyInclusion(h[m], m, n, p, root).ok()) << n << " " << m;
      EXPECT_FALSE(VerifyInclusion(LeafHash(AsBytes("x")), m, n, p, root).ok());
      if (n > 1) {
        EXPECT_FALSE(VerifyInclusion(h[m], (m + 1) % n, n, p, root).ok());
      }
      if (!p.empty()) {
        auto bad = p;
        bad[0][0] ^= 1;
        EXPECT_FALSE(VerifyInclusion(h[m], m, n, bad, root).ok());
        bad = p;
        bad.pop_back();
        EXPECT_FALSE(VerifyInclusion(h[m], m, n, bad, root).ok());
      }
      // The sides printed for people lead to the same root.
      auto sides = InclusionSides(m, n, p.size());
      Bytes r = h[m];
      for (size_t i = 0; i < p.size(); ++i) r = sides[i] ? NodeHash(p[i], r) : NodeHash(r, p[i]);
      EXPECT_EQ(r, root);
    }
    for (uint64_t m = 1; m < n; ++m) {
      auto c = *ConsistencyProof(h, m, n);
      ASSERT_TRUE(VerifyConsistency(m, n, MerkleRoot(h, m), root, c).ok()) << m << "->" << n;
      EXPECT_FALSE(VerifyConsistency(m, n, MerkleRoot(h, m - 1), root, c).ok());
      auto bad = c;
      bad.back()[5] ^= 1;
      EXPECT_FALSE(VerifyConsistency(m, n, MerkleRoot(h, m), root, bad).ok());
    }
  }
}

TEST_F(MerkleTest, ShrinkingOrForkedHistoryIsRefused) {
  EXPECT_FALSE(VerifyConsistency(8, 6, Root(8), Root(6), {}).ok());   // shrank
  EXPECT_FALSE(VerifyConsistency(8, 8, Root(8), Root(7), {}).ok());   // same size, other root
  EXPECT_TRUE(VerifyConsistency(8, 8, Root(8), Root(8), {}).ok());
  EXPECT_TRUE(VerifyConsistency(0, 8, Root(0), Root(8), {}).ok());
  EXPECT_FALSE(VerifyConsistency(0, 8, Root(6), Root(8), {}).ok());
  EXPECT_FALSE(VerifyInclusion(leaves_[5], 8, 8, {}, Root(8)).ok());  // index outside
}

}  // namespace
}  // namespace vigil::evidence
