// RFC 9162 section 2.1: Merkle tree hashing, inclusion and consistency
// proofs, and their verification algorithms, over SHA-256.
#include <algorithm>

#include "vigil/crypto.h"
#include "vigil/evidence.h"

namespace vigil::evidence {
namespace {

// The largest power of two smaller than n. REQUIRES: n >= 2.
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

Bytes Mth(const std::vector<Bytes>& h, uint64_t begin, uint64_t end) {
  uint64_t n = end - begin;
  if (n == 0) return crypto::Sha256({});
  if (n == 1) return h[begin];
  uint64_t k = SplitPoint(n);
  return NodeHash(Mth(h, begin, begin + k), Mth(h, begin + k, end));
}

void Path(const std::vector<Bytes>& h, uint64_t m, uint64_t begin, uint64_t end, std::vector<Bytes>* out) {
  uint64_t n = end - begin;
  if (n <= 1) return;
  uint64_t k = SplitPoint(n);
  if (m < k) {
    Path(h, m, begin, begin + k, out);
    out->push_back(Mth(h, begin + k, end));
  } else {
    Path(h, m - k, begin + k, end, out);
    out->push_back(Mth(h, begin, begin + k));
  }
}

void SubProof(const std::vector<Bytes>& h, uint64_t m, uint64_t begin, uint64_t end, bool complete,
              std::vector<Bytes>* out) {
  uint64_t n = end - begin;
  if (m == n) {
    if (!complete) out->push_back(Mth(h, begin, end));
    return;
  }
  uint64_t k = SplitPoint(n);
  if (m <= k) {
    SubProof(h, m, begin, begin + k, complete, out);
    out->push_back(Mth(h, begin + k, end));
  } else {
    SubProof(h, m - k, begin + k, end, false, out);
    out->push_back(Mth(h, begin, begin + k));
  }
}

bool Lsb(uint64_t x) { return (x & 1) != 0; }

}  // namespace

Bytes LeafHash(ByteSpan data) {
  Bytes in;
  in.reserve(data.size() + 1);
  in.push_back(0x00);
  in.insert(in.end(), data.begin(), data.end());
  return crypto::Sha256(in);
}

Bytes NodeHash(ByteSpan left, ByteSpan right) {
  Bytes in;
  in.reserve(1 + left.size() + right.size());
  in.push_back(0x01);
  in.insert(in.end(), left.begin(), left.end());
  in.insert(in.end(), right.begin(), right.end());
  return crypto::Sha256(in);
}

Bytes MerkleRoot(const std::vector<Bytes>& leaf_hashes, uint64_t size) {
  return Mth(leaf_hashes, 0, std::min<uint64_t>(size, leaf_hashes.size()));
}

StatusOr<std::vector<Bytes>> InclusionProof(const std::vector<Bytes>& leaf_hashes, uint64_t index,
                                            uint64_t size) {
  if (size > leaf_hashes.size() || index >= size) {
    return Status::InvalidArgument("leaf index outside the tree");
  }
  std::vector<Bytes> out;
  Path(leaf_hashes, index, 0, size, &out);
  return out;
}

StatusOr<std::vector<Bytes>> ConsistencyProof(const std::vector<Bytes>& leaf_hashes, uint64_t first,
                                              uint64_t size) {
  if (size > leaf_hashes.size() || first == 0 || first > size) {
    return Status::InvalidArgument("consistency proof sizes outside the tree");
  }
  std::vector<Bytes> out;
  SubProof(leaf_hashes, first, 0, size, true, &out);
  return out;
}

Status VerifyInclusion(ByteSpan leaf_hash, uint64_t index, uint64_t size, const std::vector<Bytes>& proof,
                       ByteSpan root) {
  auto fail = [] { return Status::Unauthenticated("Merkle inclusion proof does not match the log root"); };
  if (index >= size || leaf_hash.size() != kHashSize || root.size() != kHashSize ||
      proof.size() > kMaxProofHashes) {
    return fail();
  }
  uint64_t fn = index, sn = size - 1;
  Bytes r(leaf_hash.begin(), leaf_hash.end());
  for (const Bytes& p : proof) {
    if (p.size() != kHashSize || sn == 0) return fail();
    if (Lsb(fn) || fn == sn) {
      r = NodeHash(p, r);
      if (!Lsb(fn)) {
        while (!Lsb(fn) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0 || !crypto::ConstantTimeEqual(r, root)) return fail();
  return Status::Ok();
}

std::vector<bool> InclusionSides(uint64_t index, uint64_t size, size_t proof_len) {
  std::vector<bool> left;
  uint64_t fn = index, sn = size == 0 ? 0 : size - 1;
  for (size_t i = 0; i < proof_len; ++i) {
    if (Lsb(fn) || fn == sn) {
      left.push_back(true);
      if (!Lsb(fn)) {
        while (!Lsb(fn) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      left.push_back(false);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return left;
}

Status VerifyConsistency(uint64_t first, uint64_t second, ByteSpan first_root, ByteSpan second_root,
                         const std::vector<Bytes>& proof) {
  auto fail = [] {
    return Status::Unauthenticated("the log's consistency proof does not hold: its history forked or shrank");
  };
  if (first_root.size() != kHashSize || second_root.size() != kHashSize || proof.size() > kMaxProofHashes) {
    return fail();
  }
  if (first > second) return fail();
  if (first == second) {
    if (!proof.empty() || !crypto::ConstantTimeEqual(first_root, second_root)) return fail();
    return Status::Ok();
  }
  if (first == 0) {
    // The empty tree is a prefix of every tree.
    if (!proof.empty() || !crypto::ConstantTimeEqual(first_root, crypto::Sha256({}))) return fail();
    return Status::Ok();
  }
  if (proof.empty()) return fail();
  for (const Bytes& p : proof) {
    if (p.size() != kHashSize) return fail();
  }
  std::vector<Bytes> path = proof;
  if ((first & (first - 1)) == 0) path.insert(path.begin(), Bytes(first_root.begin(), first_root.end()));
  uint64_t fn = first - 1, sn = second - 1;
  while (Lsb(fn)) {
    fn >>= 1;
    sn >>= 1;
  }
  Bytes fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Bytes& c = path[i];
    if (sn == 0) return fail();
    if (Lsb(fn) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if (!Lsb(fn)) {
        while (!Lsb(fn) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0 || !crypto::ConstantTimeEqual(fr, first_root) || !crypto::ConstantTimeEqual(sr, second_root)) {
    return fail();
  }
  return Status::Ok();
}

}  // namespace vigil::evidence
