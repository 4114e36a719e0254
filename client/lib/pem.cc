#include "client/lib/pem.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

namespace vigil::client {
namespace {
struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
struct KeyFree { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
struct X509Free { void operator()(X509* x) const { X509_free(x); } };
}  // namespace

StatusOr<std::string> Ed25519PublicPem(ByteSpan raw) {
  if (raw.size() != 32) return Status::InvalidArgument("an Ed25519 public key is 32 bytes");
  std::unique_ptr<EVP_PKEY, KeyFree> key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), 32));
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!key || !bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) {
    return Status::Internal("cannot encode a public key as PEM");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

StatusOr<Bytes> Ed25519FromPem(std::string_view pem) {
  if (pem.size() > 4096) return Status::InvalidArgument("public key file too large");
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::unique_ptr<EVP_PKEY, KeyFree> key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key || EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519) {
    return Status::InvalidArgument("not a PEM Ed25519 public key");
  }
  Bytes raw(32);
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), raw.data(), &len) != 1 || len != 32) {
    return Status::InvalidArgument("not a PEM Ed25519 public key");
  }
  return raw;
}

StatusOr<std::pair<std::string, std::string>> CertificateSummary(std::string_view pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::string fingerprints, subject;
  while (bio) {
    std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(cert.get(), EVP_sha256(), md, &len) != 1) break;
    if (!fingerprints.empty()) fingerprints += ",";
    fingerprints += HexEncode(ByteSpan(md, len));
    if (subject.empty()) {
      char buf[512];
      X509_NAME_oneline(X509_get_subject_name(cert.get()), buf, sizeof buf);
      subject = buf;
    }
  }
  if (fingerprints.empty()) return Status::InvalidArgument("no PEM certificate found");
  return std::make_pair(fingerprints, subject);
}

}  // namespace vigil::client
