// RFC 3161 time-stamping: the logic behind the "rfc3161" timestamp plugin,
// kept in a small static library (vigil_rfc3161) so unit tests and the fuzz
// target call it directly. The plugin (plugin.cc) is only the C ABI shim.
//
// Config: NUL-terminated "key=value" lines (blank lines and lines starting
// with '#' ignored; unknown or repeated keys are errors):
//   url=     http:// or https:// URL of the TSA (required)
//   ca_pem=  standard base64 of a PEM file holding one or more trust-anchor
//            certificates (required)
//   name=    optional label used in messages
//
// Token: the DER TimeStampResp exactly as the TSA sent it (status granted,
// with the TSA certificate), so `openssl ts -verify -in token.tsr -digest
// HEX -CAfile ca.pem` accepts it.
//
// Only OpenSSL's TS/X509/PEM APIs parse ASN.1 here; nothing is secret.
// Errors carry a VIGIL_TS_* code (vigil/ts_plugin.h) and a short message.
//
// Thread safety: a Tsa is immutable after Open; its methods may be called
// concurrently.
#ifndef VIGIL_PLUGINS_RFC3161_TSA_H_
#define VIGIL_PLUGINS_RFC3161_TSA_H_

#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::rfc3161 {

constexpr size_t kDigestSize = 32;
constexpr size_t kMaxReply = 64 * 1024;  // largest reply or token accepted

struct Error {
  int code = 0;  // VIGIL_TS_OK (0) or VIGIL_TS_ERR_*
  std::string message;
  bool ok() const { return code == 0; }
};

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

class Tsa {
 public:
  // Parses and checks `config` (no network). VIGIL_TS_ERR_CONFIG with a
  // message naming the setting on any problem.
  static std::unique_ptr<Tsa> Open(std::string_view config, Error* error);

  // Requests a timestamp on the 32-byte SHA-256 `digest` from the TSA and
  // checks the reply against the request (status, imprint, nonce,
  // signature, chain to the configured CA, timeStamping EKU). `timeout_ms`
  // bounds the whole HTTP exchange (0: 10 s). On success *token is the
  // DER TimeStampResp as received.
  Error Stamp(const uint8_t* digest, uint32_t timeout_ms, std::vector<uint8_t>* token) const;

  // Checks that `token` (a DER TimeStampResp) is granted, covers `digest`
  // with SHA-256 and is signed by a TSA chaining to the configured CA at
  // the token's genTime. On success *time_ms is genTime in ms since the
  // epoch (UTC). Malformed -> VIGIL_TS_ERR_INVALID; any mismatch ->
  // VIGIL_TS_ERR_VERIFY.
  Error Verify(const uint8_t* digest, const uint8_t* token, size_t token_len, int64_t* time_ms) const;

  // A one-line JSON object describing a token whose signature and chain
  // verify (the imprint is not checked: there is no digest): TSA subject
  // and certificate serial, genTime, policy OID and the token's serial.
  Error Describe(const uint8_t* token, size_t token_len, std::string* json) const;

  // Checks a reply to `request_der` as Stamp does (exposed for tests).
  Error CheckReply(const std::vector<uint8_t>& request_der, const uint8_t* reply, size_t reply_len) const;

  // A DER TimeStampReq for `digest`: SHA-256 imprint, random 64-bit nonce,
  // certReq true.
  static Error MakeRequest(const uint8_t* digest, std::vector<uint8_t>* request_der);

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  size_t ca_count() const { return cas_.size(); }

 private:
  Tsa() = default;
  std::string url_;
  std::string shown_url_;  // in messages: no user:password@, no ?query
  std::string name_;
  bool loopback_ = false;  // never send loopback requests through a proxy
  std::vector<X509Ptr> cas_;
};

}  // namespace vigil::rfc3161

#endif  // VIGIL_PLUGINS_RFC3161_TSA_H_
