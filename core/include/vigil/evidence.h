// Evidence formats and checks shared by the relay's timestamp plugins, the
// client and `vigil verify`: note-version commitments, the relay notary's
// statements, and the RFC 9162 Merkle log (hashing, proofs, signed
// checkpoints and inclusion tokens).
//
// Every format here is plain text, one "key value" per line, each line
// ending in "\n", so that a person can read it and check it with sha256sum
// and openssl (docs/EVIDENCE.md, docs/PROTOCOL.md section 8). Parsers are
// strict: exact keys in exact order, bounded sizes, lower-case hex.
//
// Thread safety: free functions, no state. REQUIRES: crypto::InitCrypto().
#ifndef VIGIL_EVIDENCE_H_
#define VIGIL_EVIDENCE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vigil/bytes.h"
#include "vigil/status.h"

namespace vigil::evidence {

inline constexpr size_t kHashSize = 32;
inline constexpr size_t kSaltSize = 32;
inline constexpr size_t kMaxTokenText = 16384;
inline constexpr size_t kMaxProofHashes = 64;

// --- Commitments ---
//
//   vigil-commitment-v1
//   note <32 hex: note id>
//   version <n>
//   signed-sha256 <64 hex: SHA-256 of the exact signed bytes of the version>
//   salt <64 hex: 32 random bytes, inside the encrypted note>
//   previous <64 hex: digest of the previous version's commitment | none>
//
// The digest that leaves the device for timestamping is SHA-256 of this text.
struct Commitment {
  Bytes note_id;        // 16
  uint32_t version = 0;
  Bytes signed_sha256;  // 32
  Bytes salt;           // 32
  Bytes previous;       // 32, or empty for the first version
};
std::string CommitmentText(const Commitment& c);
StatusOr<Commitment> ParseCommitment(std::string_view text);
Bytes CommitmentDigest(const Commitment& c);

// --- Relay notary ---
//
//   vigil-notary-v1
//   relay <64 hex: the relay's Ed25519 public key>
//   digest <64 hex>
//   time <ms since the epoch, UTC> <ISO 8601 UTC>
//   sequence <n>
//   signature <128 hex: Ed25519 over every line above, exactly>
//
// The token is the whole text; the signed bytes are the text before the
// "signature" line.
struct NotaryToken {
  Bytes relay_key;
  Bytes digest;
  int64_t time_ms = 0;
  uint64_t sequence = 0;
  std::string statement;  // the signed bytes
  Bytes signature;
};
std::string NotaryStatement(ByteSpan relay_key, ByteSpan digest, int64_t time_ms, uint64_t sequence);
StatusOr<NotaryToken> ParseNotaryToken(ByteSpan token);
// Checks the signature, that the token is for `digest` and, when
// `relay_key` is non-empty, that it was made by that relay.
StatusOr<NotaryToken> VerifyNotaryToken(ByteSpan token, ByteSpan digest, ByteSpan relay_key);

// --- RFC 9162 Merkle tree (SHA-256) ---
Bytes LeafHash(ByteSpan data);                  // SHA-256(0x00 || data)
Bytes NodeHash(ByteSpan left, ByteSpan right);  // SHA-256(0x01 || left || right)
// MTH over leaf hashes (the empty tree's root is SHA-256 of nothing).
Bytes MerkleRoot(const std::vector<Bytes>& leaf_hashes, uint64_t size);
// PATH(index, D[size]) and PROOF(first, D[size]) of RFC 9162 2.1.3 / 2.1.4.
// REQUIRES: index < size <= leaf_hashes.size(); 0 < first <= size.
StatusOr<std::vector<Bytes>> InclusionProof(const std::vector<Bytes>& leaf_hashes, uint64_t index,
                                            uint64_t size);
StatusOr<std::vector<Bytes>> ConsistencyProof(const std::vector<Bytes>& leaf_hashes, uint64_t first,
                                              uint64_t size);
// The verification algorithms of RFC 9162 2.1.3.2 and 2.1.4.2. Unauthenticated
// when the proof does not hold.
Status VerifyInclusion(ByteSpan leaf_hash, uint64_t index, uint64_t size,
                       const std::vector<Bytes>& proof, ByteSpan root);
Status VerifyConsistency(uint64_t first, uint64_t second, ByteSpan first_root,
                         ByteSpan second_root, const std::vector<Bytes>& proof);
// One step of an inclusion check, as printed for people in VERIFY.md: at
// each step the running hash is combined with proof[i] on `sibling_left`.
std::vector<bool> InclusionSides(uint64_t index, uint64_t size, size_t proof_len);

// --- Log checkpoints ---
//
//   vigil-tlog-checkpoint-v1
//   log <64 hex: the relay's Ed25519 public key>
//   size <n>
//   root <64 hex>
//   time <ms since the epoch, UTC> <ISO 8601 UTC>
//   signature <128 hex: Ed25519 over every line above>
struct Checkpoint {
  Bytes log_key;
  uint64_t size = 0;
  Bytes root;
  int64_t time_ms = 0;
  std::string statement;  // the signed bytes
  Bytes signature;
};
std::string CheckpointStatement(ByteSpan log_key, uint64_t size, ByteSpan root, int64_t time_ms);
// Parses "statement + signature line"; checks the signature (and the key
// when `log_key` is non-empty).
StatusOr<Checkpoint> ParseCheckpoint(std::string_view text, ByteSpan log_key);
std::string CheckpointText(const Checkpoint& cp);  // statement + signature line

// --- Log inclusion tokens (what the tlog plugin's stamp returns) ---
//
//   vigil-tlog-inclusion-v1
//   digest <64 hex: the stamped digest; the leaf is LeafHash(digest)>
//   index <n>
//   proof <64 hex>          (zero or more lines, PATH(index, D[size]))
//   <checkpoint text for tree size `size`>
struct InclusionToken {
  Bytes digest;
  uint64_t index = 0;
  std::vector<Bytes> proof;
  Checkpoint checkpoint;
};
std::string InclusionTokenText(const InclusionToken& t);
// Parses and fully checks: checkpoint signature (and key if non-empty),
// digest, and the inclusion proof against the checkpoint's root and size.
StatusOr<InclusionToken> VerifyInclusionToken(ByteSpan token, ByteSpan digest, ByteSpan log_key);

// Consistency proofs travel as text too: "vigil-tlog-consistency-v1\n"
// "first <n>\nsecond <n>\n" then "proof <hex>" lines.
std::string ConsistencyText(uint64_t first, uint64_t second, const std::vector<Bytes>& proof);
StatusOr<std::vector<Bytes>> ParseConsistency(std::string_view text, uint64_t first, uint64_t second);

// --- Export statements (EXPORT.txt of an evidence bundle) ---
//
//   vigil-export-v1
//   exporter <name>
//   identity <64 hex: the exporter's Ed25519 identity public key>
//   device <32 hex: the id of the device that signed this statement>
//   time <ms since the epoch, UTC> <ISO 8601 UTC>
//   manifest <64 hex: SHA-256 of MANIFEST.sha256, exactly>
//   notes <n>
//   then, for each note (ascending note id):
//   note <32 hex: note id> versions <count> head <highest version number>
//   then, for each of its versions (in bundle order: number, then file name):
//   version <number> <file stem: v<N> or v<N>-<hash8>> <64 hex: version hash> anchors <list>
//
// <list> is "none" or the anchor files the version has, comma-separated
// without spaces, in this order: notary, tlog, rfc3161-1, rfc3161-2, ...
// The exporting device signs SignedBytes("vigil/export-statement/v1", text).
struct ExportVersion {
  uint32_t number = 0;
  std::string stem;  // "v<N>" or "v<N>-<hash8>"
  Bytes hash;        // 32
  std::vector<std::string> anchors;
};
struct ExportNote {
  Bytes note_id;  // 16
  uint32_t head = 0;
  std::vector<ExportVersion> versions;
};
struct ExportStatement {
  std::string exporter;
  Bytes identity_key;  // 32
  Bytes device_id;     // 16
  int64_t time_ms = 0;
  Bytes manifest_sha256;  // 32
  std::vector<ExportNote> notes;
};
inline constexpr char kExportStatementLabel[] = "vigil/export-statement/v1";
inline constexpr size_t kMaxExportStatement = 4 * 1024 * 1024;
std::string ExportStatementText(const ExportStatement& s);
// Strict: exact keys in order, counts that match, notes in ascending id,
// anchor names from the list above, each at most once and in order.
StatusOr<ExportStatement> ParseExportStatement(std::string_view text);

// "2026-12-01T18:05:00.123Z"
std::string IsoUtc(int64_t ms);

}  // namespace vigil::evidence

#endif  // VIGIL_EVIDENCE_H_
