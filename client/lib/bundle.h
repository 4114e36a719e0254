// Evidence bundles: one directory per exported note (or visit) that anyone
// can check with sha256sum and openssl (its VERIFY.md says how), and that
// `vigil verify` checks completely. Layout and claims: docs/EVIDENCE.md.
#ifndef VIGIL_CLIENT_LIB_BUNDLE_H_
#define VIGIL_CLIENT_LIB_BUNDLE_H_

#include <map>
#include <string>
#include <vector>

#include "vigil/status.h"

namespace vigil::client {

inline constexpr char kBundleManifest[] = "MANIFEST.sha256";
// The exporter's signed statement (docs/EVIDENCE.md): the statement text,
// its signed bytes (label, NUL, text) and the Ed25519 signature by the
// exporting device. MANIFEST.sha256 lists every file but these three and
// itself; the statement holds the manifest's SHA-256.
inline constexpr char kExportStatement[] = "EXPORT.txt";
inline constexpr char kExportSigned[] = "EXPORT.signed";
inline constexpr char kExportSignature[] = "EXPORT.sig";
inline constexpr size_t kMaxBundleFiles = 20000;
inline constexpr size_t kMaxBundleFileSize = 4 * 1024 * 1024;

struct BundleReport {
  std::vector<std::string> lines;  // what was checked, for people
  std::vector<std::string> unpinned;  // trust anchors taken from the bundle only, in plain words
};

// Trust anchors obtained independently of the bundle (vigil verify
// --relay-fingerprint, --identity NAME=F, --tsa-ca PEM). Fingerprints are
// compared by their digits (spaces ignored).
struct BundlePins {
  std::string relay_fingerprint;                    // crypto::Fingerprint("vigil/relay-signing", key)
  std::map<std::string, std::string> identities;    // name -> Fingerprint("vigil/identity", key)
  std::vector<std::string> tsa_ca_pems;             // PEM texts
};

// Checks every claim of the bundle in `dir`: the manifest, certificates,
// signatures, texts, commitments and every timestamp, and each pin: a pin
// that does not match (or names nobody in the bundle) fails. The error
// names the first thing that failed (and its file). Anchors without a pin
// are listed in `unpinned`.
StatusOr<BundleReport> VerifyBundle(const std::string& dir, const BundlePins& pins = {});

// Parses MANIFEST.sha256 text ("<64 hex>  <relative path>" lines, as
// sha256sum writes them): strict, bounded, no absolute paths or "..".
StatusOr<std::vector<std::pair<std::string, std::string>>> ParseManifest(std::string_view text);

}  // namespace vigil::client

#endif  // VIGIL_CLIENT_LIB_BUNDLE_H_
