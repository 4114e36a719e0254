// RFC 3161 time-stamping with OpenSSL's TS API and libcurl. See tsa.h.
#include "tsa.h"

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>
#include <map>

#include "vigil/ts_plugin.h"

namespace vigil::rfc3161 {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
template <typename T, void (*F)(T*)>
using Ptr = std::unique_ptr<T, Deleter<T, F>>;

void FreeOpensslString(char* p) { OPENSSL_free(p); }
void FreeCurlString(char* p) { curl_free(p); }
void FreeX509Stack(STACK_OF(X509)* s) { sk_X509_free(s); }

using BioPtr = Ptr<BIO, BIO_free_all>;
using BignumPtr = Ptr<BIGNUM, BN_free>;
using Asn1IntegerPtr = Ptr<ASN1_INTEGER, ASN1_INTEGER_free>;
using AlgorPtr = Ptr<X509_ALGOR, X509_ALGOR_free>;
using ImprintPtr = Ptr<TS_MSG_IMPRINT, TS_MSG_IMPRINT_free>;
using ReqPtr = Ptr<TS_REQ, TS_REQ_free>;
using RespPtr = Ptr<TS_RESP, TS_RESP_free>;
using VerifyCtxPtr = Ptr<TS_VERIFY_CTX, TS_VERIFY_CTX_free>;
using StorePtr = Ptr<X509_STORE, X509_STORE_free>;
using EncodeCtxPtr = Ptr<EVP_ENCODE_CTX, EVP_ENCODE_CTX_free>;
using OsslStringPtr = Ptr<char, FreeOpensslString>;
using CurlStringPtr = Ptr<char, FreeCurlString>;
using CurlPtr = Ptr<CURL, curl_easy_cleanup>;
using CurlListPtr = Ptr<curl_slist, curl_slist_free_all>;
using CurlUrlPtr = Ptr<CURLU, curl_url_cleanup>;
using X509StackPtr = Ptr<STACK_OF(X509), FreeX509Stack>;

constexpr uint32_t kDefaultTimeoutMs = 10000;
constexpr size_t kMaxUrl = 2048;
constexpr size_t kMaxConfig = 1 << 20;

Error Fail(int code, std::string message) { return Error{code, std::move(message)}; }

// OpenSSL's queued reasons, oldest first, joined by "; " (bounded).
std::string DrainErrors() {
  std::string out;
  const char* data = nullptr;
  int flags = 0;
  unsigned long e;
  while ((e = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
    const char* reason = ERR_reason_error_string(e);
    std::string one = reason ? reason : "OpenSSL error " + std::to_string(ERR_GET_REASON(e));
    if (data && (flags & ERR_TXT_STRING) && *data) one += std::string(" (") + data + ")";
    if (out.find(one) != std::string::npos) continue;
    if (out.size() + one.size() > 400) continue;
    if (!out.empty()) out += "; ";
    out += one;
  }
  return out.empty() ? "no reason given" : out;
}

// The URL as shown in messages (bounded).
std::string ShowUrl(const std::string& url) {
  return url.size() <= 100 ? url : url.substr(0, 97) + "...";
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

bool DecodeBase64(const std::string& text, std::string* out) {
  EncodeCtxPtr ctx(EVP_ENCODE_CTX_new());
  if (!ctx || text.size() > kMaxConfig) return false;
  out->assign(text.size() / 4 * 3 + 80, '\0');
  EVP_DecodeInit(ctx.get());
  int n = 0, m = 0;
  if (EVP_DecodeUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out->data()), &n,
                       reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size())) < 0) {
    return false;
  }
  if (EVP_DecodeFinal(ctx.get(), reinterpret_cast<unsigned char*>(out->data()) + n, &m) != 1) return false;
  out->resize(static_cast<size_t>(n + m));
  return true;
}

const char* StatusName(long status) {
  switch (status) {
    case 0: return "granted";
    case 1: return "grantedWithMods";
    case 2: return "rejection";
    case 3: return "waiting";
    case 4: return "revocationWarning";
    case 5: return "revocationNotification";
    default: return "unknown status";
  }
}

// "rejection: text (failure: badAlg)" from a PKIStatusInfo.
std::string DescribeStatus(const TS_STATUS_INFO* info, long status) {
  std::string m = std::string(StatusName(status)) + " (" + std::to_string(status) + ")";
  const STACK_OF(ASN1_UTF8STRING)* text = TS_STATUS_INFO_get0_text(info);
  for (int i = 0; text && i < sk_ASN1_UTF8STRING_num(text) && i < 4; ++i) {
    const ASN1_UTF8STRING* s = sk_ASN1_UTF8STRING_value(text, i);
    std::string t(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                  static_cast<size_t>(std::min(ASN1_STRING_length(s), 160)));
    m += i == 0 ? ": " : " / ";
    m += t;
  }
  static const std::pair<int, const char*> kFailures[] = {
      {TS_INFO_BAD_ALG, "badAlg"},
      {TS_INFO_BAD_REQUEST, "badRequest"},
      {TS_INFO_BAD_DATA_FORMAT, "badDataFormat"},
      {TS_INFO_TIME_NOT_AVAILABLE, "timeNotAvailable"},
      {TS_INFO_UNACCEPTED_POLICY, "unacceptedPolicy"},
      {TS_INFO_UNACCEPTED_EXTENSION, "unacceptedExtension"},
      {TS_INFO_ADD_INFO_NOT_AVAILABLE, "addInfoNotAvailable"},
      {TS_INFO_SYSTEM_FAILURE, "systemFailure"},
  };
  const ASN1_BIT_STRING* fail = TS_STATUS_INFO_get0_failure_info(info);
  std::string f;
  for (const auto& [bit, name] : kFailures) {
    if (fail && ASN1_BIT_STRING_get_bit(fail, bit)) f += (f.empty() ? "" : ",") + std::string(name);
  }
  if (!f.empty()) m += " (failure: " + f + ")";
  for (char& ch : m) {
    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e) ch = '?';
  }
  return m;
}

// Parses a whole DER TimeStampResp; null if malformed or with trailing bytes.
RespPtr ParseResp(const uint8_t* der, size_t len) {
  if (!der || len == 0 || len > kMaxReply) return nullptr;
  const unsigned char* p = der;
  RespPtr resp(d2i_TS_RESP(nullptr, &p, static_cast<long>(len)));
  if (!resp || p != der + len) return nullptr;
  return resp;
}

long RespStatus(TS_RESP* resp) {
  const ASN1_INTEGER* s = TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp));
  return s ? ASN1_INTEGER_get(s) : -1;
}

// genTime as seconds and milliseconds since the epoch.
bool GenTime(TS_TST_INFO* tst, time_t* secs, int64_t* ms) {
  const ASN1_GENERALIZEDTIME* t = TS_TST_INFO_get_time(tst);
  if (!t) return false;
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return false;
  time_t s = timegm(&tm);
  if (s == static_cast<time_t>(-1)) return false;
  // Fractional seconds, if any: "YYYYMMDDHHMMSS.fffZ".
  const unsigned char* d = ASN1_STRING_get0_data(t);
  int n = ASN1_STRING_length(t);
  int frac_ms = 0;
  if (n > 15 && d[14] == '.') {
    int scale = 100;
    for (int i = 15; i < n && std::isdigit(d[i]) && scale > 0; ++i, scale /= 10) frac_ms += (d[i] - '0') * scale;
  }
  *secs = s;
  *ms = static_cast<int64_t>(s) * 1000 + frac_ms;
  return true;
}

std::string IsoTime(time_t s, int64_t ms) {
  struct tm tm {};
  gmtime_r(&s, &tm);
  char buf[64];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(((ms % 1000) + 1000) % 1000));
  return buf;
}

std::string JsonEscape(const std::string& s) {
  std::string o;
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      o += '\\';
      o += static_cast<char>(ch);
    } else if (ch < 0x20 || ch > 0x7e) {
      char b[8];
      snprintf(b, sizeof b, "\\u%04x", ch);
      o += b;
    } else {
      o += static_cast<char>(ch);
    }
  }
  return o;
}

std::string IntegerHex(const ASN1_INTEGER* i) {
  if (!i) return "";
  BignumPtr bn(ASN1_INTEGER_to_BN(i, nullptr));
  if (!bn) return "";
  OsslStringPtr hex(BN_bn2hex(bn.get()));
  return hex ? std::string(hex.get()) : "";
}

struct Sink {
  std::vector<uint8_t>* body;
  bool too_large = false;
};

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  size_t len = size * n;
  if (s->body->size() + len > kMaxReply) {
    s->too_large = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  s->body->insert(s->body->end(), data, data + len);
  return len;
}

}  // namespace

std::unique_ptr<Tsa> Tsa::Open(std::string_view config, Error* error) {
  *error = Error{};
  std::unique_ptr<Tsa> tsa(new Tsa());
  if (config.size() > kMaxConfig) {
    *error = Fail(VIGIL_TS_ERR_CONFIG, "rfc3161 config is larger than 1 MiB");
    return nullptr;
  }
  std::map<std::string, std::string> kv;
  size_t pos = 0, line_no = 0;
  while (pos <= config.size()) {
    size_t nl = config.find('\n', pos);
    if (nl == std::string_view::npos) nl = config.size();
    std::string line = Trim(config.substr(pos, nl - pos));
    pos = nl + 1;
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      *error = Fail(VIGIL_TS_ERR_CONFIG, "rfc3161 config line " + std::to_string(line_no) + " is not key=value");
      return nullptr;
    }
    std::string key = Trim(line.substr(0, eq));
    std::string value = Trim(line.substr(eq + 1));
    if (key != "url" && key != "ca_pem" && key != "name") {
      *error = Fail(VIGIL_TS_ERR_CONFIG, "rfc3161 config has unknown setting '" + key.substr(0, 40) +
                                             "' (known: url, ca_pem, name)");
      return nullptr;
    }
    if (!kv.emplace(key, value).second) {
      *error = Fail(VIGIL_TS_ERR_CONFIG, "rfc3161 config sets " + key + "= twice");
      return nullptr;
    }
  }

  // url=
  auto url_it = kv.find("url");
  if (url_it == kv.end() || url_it->second.empty()) {
    *error = Fail(VIGIL_TS_ERR_CONFIG, "rfc3161 config is missing url= (the TSA's http:// or https:// URL)");
    return nullptr;
  }
  const std::string& url = url_it->second;
  if (url.size() > kMaxUrl) {
    *error = Fail(VIGIL_TS_ERR_CONFIG, "rfc3161 url= is longer than 2048 characters");
    return nullptr;
  }
  for (unsigned char ch : url) {
    if (ch <= 0x20 || ch >= 0x7f) {
      *error = Fail(VIGIL_TS_ERR_CONFIG, "rfc3161 url= contains a space or a non-ASCII character");
      return nullptr;
    }
  }
  CurlUrlPtr u(curl_url());
  if (!u) {
    *error = Fail(VIGIL_TS_ERR_INTERNAL, "out of memory");
    return nullptr;
  }
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    *error = Fail(VIGIL_TS_ERR_CONFIG, "rfc3161 url= is not a valid absolute URL");
    return nullptr;
  }
  char* raw = nullptr;
  curl_url_get(u.get(), CURLUPART_SCHEME, &raw, 0);
  CurlStringPtr scheme(raw);
  std::string sch = scheme ? scheme.get() : "";
  for (char& ch : sch) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (sch != "http" && sch != "https") {
    *error = Fail(VIGIL_TS_ERR_CONFIG, "rfc3161 url= must start with http:// or https:// (got '" +
                                           sch.substr(0, 16) + "://')");
    return nullptr;
  }
  raw = nullptr;
  curl_url_get(u.get(), CURLUPART_HOST, &raw, 0);
  CurlStringPtr host(raw);
  std::string h = host ? host.get() : "";
  if (h.empty()) {
    *error = Fail(VIGIL_TS_ERR_CONFIG, "rfc3161 url= has no host");
    return nullptr;
  }
  tsa->loopback_ = h == "localhost" || h.rfind("127.", 0) == 0 || h == "[::1]";
  tsa->url_ = url;
  // Messages show the URL without credentials or query (they may hold secrets).
  raw = nullptr;
  curl_url_get(u.get(), CURLUPART_PORT, &raw, 0);
  CurlStringPtr port(raw);
  raw = nullptr;
  curl_url_get(u.get(), CURLUPART_PATH, &raw, 0);
  CurlStringPtr path(raw);
  tsa->shown_url_ = ShowUrl(sch + "://" + h + (port ? std::string(":") + port.get() : "") +
                            (path ? path.get() : ""));

  // ca_pem=
  auto ca_it = kv.find("ca_pem");
  if (ca_it == kv.end() || ca_it->second.empty()) {
    *error = Fail(VIGIL_TS_ERR_CONFIG,
                  "rfc3161 config is missing ca_pem= (base64 of a PEM file with the TSA's CA certificates)");
    return nullptr;
  }
  std::string pem;
  if (!DecodeBase64(ca_it->second, &pem)) {
    *error = Fail(VIGIL_TS_ERR_CONFIG, "rfc3161 ca_pem= is not valid base64");
    return nullptr;
  }
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    *error = Fail(VIGIL_TS_ERR_INTERNAL, "out of memory");
    return nullptr;
  }
  for (;;) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
      unsigned long e = ERR_peek_last_error();
      bool at_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
      std::string why = at_end ? "" : DrainErrors();
      ERR_clear_error();
      if (!at_end) {
        *error = Fail(VIGIL_TS_ERR_CONFIG, "rfc3161 ca_pem= holds a malformed certificate: " + why);
        return nullptr;
      }
      break;
    }
    if (tsa->cas_.size() >= 64) {
      *error = Fail(VIGIL_TS_ERR_CONFIG, "rfc3161 ca_pem= holds more than 64 certificates");
      return nullptr;
    }
    tsa->cas_.push_back(std::move(cert));
  }
  if (tsa->cas_.empty()) {
    *error = Fail(VIGIL_TS_ERR_CONFIG, "rfc3161 ca_pem= holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    return nullptr;
  }

  // name=
  if (auto it = kv.find("name"); it != kv.end()) {
    if (it->second.size() > 64) {
      *error = Fail(VIGIL_TS_ERR_CONFIG, "rfc3161 name= is longer than 64 characters");
      return nullptr;
    }
    for (unsigned char ch : it->second) {
      if (ch < 0x20 || ch > 0x7e) {
        *error = Fail(VIGIL_TS_ERR_CONFIG, "rfc3161 name= must be printable ASCII");
        return nullptr;
      }
    }
    tsa->name_ = it->second;
  }
  return tsa;
}

Error Tsa::MakeRequest(const uint8_t* digest, std::vector<uint8_t>* request_der) {
  if (!digest) return Fail(VIGIL_TS_ERR_INVALID, "no digest");
  ERR_clear_error();
  ReqPtr req(TS_REQ_new());
  ImprintPtr imprint(TS_MSG_IMPRINT_new());
  AlgorPtr algo(X509_ALGOR_new());
  if (!req || !imprint || !algo) return Fail(VIGIL_TS_ERR_INTERNAL, "out of memory");
  if (!TS_REQ_set_version(req.get(), 1) ||
      !X509_ALGOR_set0(algo.get(), OBJ_nid2obj(NID_sha256), V_ASN1_NULL, nullptr) ||
      !TS_MSG_IMPRINT_set_algo(imprint.get(), algo.get()) ||
      !TS_MSG_IMPRINT_set_msg(imprint.get(), const_cast<unsigned char*>(digest), kDigestSize) ||
      !TS_REQ_set_msg_imprint(req.get(), imprint.get())) {
    return Fail(VIGIL_TS_ERR_INTERNAL, "cannot build a TimeStampReq: " + DrainErrors());
  }
  unsigned char nonce_bytes[8];
  if (RAND_bytes(nonce_bytes, sizeof nonce_bytes) != 1) {
    return Fail(VIGIL_TS_ERR_INTERNAL, "no randomness for a nonce: " + DrainErrors());
  }
  BignumPtr bn(BN_bin2bn(nonce_bytes, sizeof nonce_bytes, nullptr));
  Asn1IntegerPtr nonce(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  if (!nonce || !TS_REQ_set_nonce(req.get(), nonce.get()) || !TS_REQ_set_cert_req(req.get(), 1)) {
    return Fail(VIGIL_TS_ERR_INTERNAL, "cannot build a TimeStampReq: " + DrainErrors());
  }
  int n = i2d_TS_REQ(req.get(), nullptr);
  if (n <= 0) return Fail(VIGIL_TS_ERR_INTERNAL, "cannot encode a TimeStampReq: " + DrainErrors());
  request_der->assign(static_cast<size_t>(n), 0);
  unsigned char* p = request_der->data();
  if (i2d_TS_REQ(req.get(), &p) != n) return Fail(VIGIL_TS_ERR_INTERNAL, "cannot encode a TimeStampReq");
  return Error{};
}

Error Tsa::CheckReply(const std::vector<uint8_t>& request_der, const uint8_t* reply, size_t reply_len) const {
  ERR_clear_error();
  const std::string who = "TSA " + shown_url_;
  RespPtr resp = ParseResp(reply, reply_len);
  if (!resp) {
    ERR_clear_error();
    return Fail(VIGIL_TS_ERR_UNAVAILABLE, who + " sent a reply that is not a DER TimeStampResp");
  }
  long status = RespStatus(resp.get());
  if (status != 0 && status != 1) {
    return Fail(VIGIL_TS_ERR_UNAVAILABLE,
                who + " refused the request: " + DescribeStatus(TS_RESP_get_status_info(resp.get()), status));
  }
  const unsigned char* p = request_der.data();
  ReqPtr req(d2i_TS_REQ(nullptr, &p, static_cast<long>(request_der.size())));
  if (!req) return Fail(VIGIL_TS_ERR_INTERNAL, "cannot decode our own TimeStampReq");
  VerifyCtxPtr ctx(TS_REQ_to_TS_VERIFY_CTX(req.get(), nullptr));
  StorePtr store(X509_STORE_new());
  if (!ctx || !store) return Fail(VIGIL_TS_ERR_INTERNAL, "out of memory");
  for (const auto& ca : cas_) {
    if (!X509_STORE_add_cert(store.get(), ca.get())) return Fail(VIGIL_TS_ERR_INTERNAL, "cannot load the CA");
  }
  // TS_REQ_to_TS_VERIFY_CTX leaves the signature check out; ask for every
  // check that applies to our request (it carries no policy).
  TS_VERIFY_CTX_set_flags(ctx.get(), TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_IMPRINT | TS_VFY_NONCE);
  TS_VERIFY_CTX_set_store(ctx.get(), store.release());  // ctx owns it now
  ERR_clear_error();
  if (TS_RESP_verify_response(ctx.get(), resp.get()) != 1) {
    return Fail(VIGIL_TS_ERR_VERIFY, who + " sent a reply that does not verify: " + DrainErrors());
  }
  return Error{};
}

Error Tsa::Stamp(const uint8_t* digest, uint32_t timeout_ms, std::vector<uint8_t>* token) const {
  std::vector<uint8_t> request;
  Error e = MakeRequest(digest, &request);
  if (!e.ok()) return e;
  if (timeout_ms == 0) timeout_ms = kDefaultTimeoutMs;
  const std::string who = "TSA " + shown_url_;

  CurlPtr curl(curl_easy_init());
  if (!curl) return Fail(VIGIL_TS_ERR_INTERNAL, "cannot start libcurl");
  curl_slist* headers = nullptr;
  for (const char* h : {"Content-Type: application/timestamp-query", "Accept: application/timestamp-reply",
                        "Expect:"}) {
    curl_slist* next = curl_slist_append(headers, h);
    if (!next) {
      curl_slist_free_all(headers);
      return Fail(VIGIL_TS_ERR_INTERNAL, "out of memory");
    }
    headers = next;
  }
  CurlListPtr header_list(headers);
  std::vector<uint8_t> body;
  Sink sink{&body};
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  bool set_ok =
      curl_easy_setopt(c, CURLOPT_URL, url_.c_str()) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms)) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms)) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_POST, 1L) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.data()) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.size())) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_HTTPHEADER, header_list.get()) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_USERAGENT, "vigil-rfc3161/1") == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(kMaxReply)) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteBody) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink) == CURLE_OK &&
      curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK &&
      (!loopback_ || curl_easy_setopt(c, CURLOPT_PROXY, "") == CURLE_OK);
  if (!set_ok) return Fail(VIGIL_TS_ERR_INTERNAL, "libcurl lacks a needed option");

  CURLcode rc = curl_easy_perform(c);
  if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    return Fail(VIGIL_TS_ERR_UNAVAILABLE, who + " sent a reply larger than 64 KiB");
  }
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (why.size() > 160) why.resize(160);
    return Fail(VIGIL_TS_ERR_UNAVAILABLE, who + " unreachable: " + why);
  }
  long http = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
  if (http != 200) {
    return Fail(VIGIL_TS_ERR_UNAVAILABLE, who + " answered HTTP " + std::to_string(http) + " (expected 200)");
  }
  char* ct_raw = nullptr;
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct_raw);
  std::string ct = ct_raw ? ct_raw : "";
  std::string media = Trim(ct.substr(0, ct.find(';')));
  for (char& ch : media) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (media != "application/timestamp-reply") {
    std::string shown = ct.empty() ? "none" : ct.substr(0, 60);
    for (char& ch : shown) {
      if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e) ch = '?';
    }
    return Fail(VIGIL_TS_ERR_UNAVAILABLE,
                who + " answered with Content-Type " + shown + " (expected application/timestamp-reply)");
  }
  e = CheckReply(request, body.data(), body.size());
  if (!e.ok()) return e;
  *token = std::move(body);
  return Error{};
}

Error Tsa::Verify(const uint8_t* digest, const uint8_t* token, size_t token_len, int64_t* time_ms) const {
  if (!digest) return Fail(VIGIL_TS_ERR_INVALID, "no digest");
  if (!token || token_len == 0) return Fail(VIGIL_TS_ERR_INVALID, "empty rfc3161 token");
  if (token_len > kMaxReply) return Fail(VIGIL_TS_ERR_INVALID, "rfc3161 token larger than 64 KiB");
  ERR_clear_error();
  RespPtr resp = ParseResp(token, token_len);
  if (!resp) {
    ERR_clear_error();
    return Fail(VIGIL_TS_ERR_INVALID, "rfc3161 token is not a DER TimeStampResp");
  }
  long status = RespStatus(resp.get());
  if (status != 0 && status != 1) {
    return Fail(VIGIL_TS_ERR_VERIFY, "rfc3161 token is not granted: " +
                                         DescribeStatus(TS_RESP_get_status_info(resp.get()), status));
  }
  TS_TST_INFO* tst = TS_RESP_get_tst_info(resp.get());
  if (!tst) return Fail(VIGIL_TS_ERR_INVALID, "rfc3161 token has no TSTInfo");
  TS_MSG_IMPRINT* imprint = TS_TST_INFO_get_msg_imprint(tst);
  X509_ALGOR* algo = imprint ? TS_MSG_IMPRINT_get_algo(imprint) : nullptr;
  ASN1_OCTET_STRING* hashed = imprint ? TS_MSG_IMPRINT_get_msg(imprint) : nullptr;
  if (!algo || !hashed) return Fail(VIGIL_TS_ERR_INVALID, "rfc3161 token has no message imprint");
  const ASN1_OBJECT* oid = nullptr;
  X509_ALGOR_get0(&oid, nullptr, nullptr, algo);
  if (OBJ_obj2nid(oid) != NID_sha256) {
    char name[80] = "?";
    OBJ_obj2txt(name, sizeof name, oid, 0);
    return Fail(VIGIL_TS_ERR_VERIFY, std::string("rfc3161 token imprint uses ") + name + ", not SHA-256");
  }
  if (ASN1_STRING_length(hashed) != static_cast<int>(kDigestSize) ||
      memcmp(ASN1_STRING_get0_data(hashed), digest, kDigestSize) != 0) {
    return Fail(VIGIL_TS_ERR_VERIFY, "rfc3161 token is for a different digest (message imprint mismatch)");
  }
  time_t secs = 0;
  int64_t ms = 0;
  if (!GenTime(tst, &secs, &ms)) return Fail(VIGIL_TS_ERR_INVALID, "rfc3161 token has an unreadable genTime");

  // The same checks `openssl ts -verify -digest ... -attime <genTime>` makes.
  std::vector<uint8_t> request;
  Error e = MakeRequest(digest, &request);
  if (!e.ok()) return e;
  const unsigned char* p = request.data();
  ReqPtr req(d2i_TS_REQ(nullptr, &p, static_cast<long>(request.size())));
  if (!req) return Fail(VIGIL_TS_ERR_INTERNAL, "cannot decode our own TimeStampReq");
  VerifyCtxPtr ctx(TS_REQ_to_TS_VERIFY_CTX(req.get(), nullptr));
  StorePtr store(X509_STORE_new());
  if (!ctx || !store) return Fail(VIGIL_TS_ERR_INTERNAL, "out of memory");
  for (const auto& ca : cas_) {
    if (!X509_STORE_add_cert(store.get(), ca.get())) return Fail(VIGIL_TS_ERR_INTERNAL, "cannot load the CA");
  }
  X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store.get()), secs);
  TS_VERIFY_CTX_set_flags(ctx.get(), TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_IMPRINT);
  TS_VERIFY_CTX_set_store(ctx.get(), store.release());  // ctx owns it now
  ERR_clear_error();
  if (TS_RESP_verify_response(ctx.get(), resp.get()) != 1) {
    return Fail(VIGIL_TS_ERR_VERIFY,
                "rfc3161 token does not verify against the configured CA at its genTime " + IsoTime(secs, ms) +
                    ": " + DrainErrors());
  }
  *time_ms = ms;
  return Error{};
}

Error Tsa::Describe(const uint8_t* token, size_t token_len, std::string* json) const {
  if (!token || token_len == 0 || token_len > kMaxReply) {
    return Fail(VIGIL_TS_ERR_INVALID, "rfc3161 token is empty or larger than 64 KiB");
  }
  ERR_clear_error();
  RespPtr resp = ParseResp(token, token_len);
  if (!resp) {
    ERR_clear_error();
    return Fail(VIGIL_TS_ERR_INVALID, "rfc3161 token is not a DER TimeStampResp");
  }
  long status = RespStatus(resp.get());
  TS_TST_INFO* tst = TS_RESP_get_tst_info(resp.get());
  if ((status != 0 && status != 1) || !tst) {
    return Fail(VIGIL_TS_ERR_VERIFY, "rfc3161 token is not granted: " +
                                         DescribeStatus(TS_RESP_get_status_info(resp.get()), status));
  }
  time_t secs = 0;
  int64_t ms = 0;
  if (!GenTime(tst, &secs, &ms)) return Fail(VIGIL_TS_ERR_INVALID, "rfc3161 token has an unreadable genTime");

  // Signature and chain at genTime, so the subject shown is the real signer.
  VerifyCtxPtr ctx(TS_VERIFY_CTX_new());
  StorePtr store(X509_STORE_new());
  if (!ctx || !store) return Fail(VIGIL_TS_ERR_INTERNAL, "out of memory");
  for (const auto& ca : cas_) {
    if (!X509_STORE_add_cert(store.get(), ca.get())) return Fail(VIGIL_TS_ERR_INTERNAL, "cannot load the CA");
  }
  X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store.get()), secs);
  TS_VERIFY_CTX_set_flags(ctx.get(), TS_VFY_VERSION | TS_VFY_SIGNATURE);
  TS_VERIFY_CTX_set_store(ctx.get(), store.release());
  ERR_clear_error();
  if (TS_RESP_verify_response(ctx.get(), resp.get()) != 1) {
    return Fail(VIGIL_TS_ERR_VERIFY,
                "rfc3161 token does not verify against the configured CA: " + DrainErrors());
  }
  PKCS7* p7 = TS_RESP_get_token(resp.get());
  X509StackPtr signers(p7 ? PKCS7_get0_signers(p7, nullptr, 0) : nullptr);
  ERR_clear_error();
  if (!signers || sk_X509_num(signers.get()) != 1) {
    return Fail(VIGIL_TS_ERR_INVALID, "rfc3161 token does not carry its signer's certificate");
  }
  X509* signer = sk_X509_value(signers.get(), 0);
  std::string subject;
  BioPtr mem(BIO_new(BIO_s_mem()));
  if (mem && X509_NAME_print_ex(mem.get(), X509_get_subject_name(signer), 0, XN_FLAG_RFC2253) >= 0) {
    char* data = nullptr;
    long n = BIO_get_mem_data(mem.get(), &data);
    if (data && n > 0) subject.assign(data, static_cast<size_t>(std::min(n, 512L)));
  }
  char policy[128] = "";
  if (ASN1_OBJECT* pol = TS_TST_INFO_get_policy_id(tst)) OBJ_obj2txt(policy, sizeof policy, pol, 1);

  std::string o = "{";
  if (!name_.empty()) o += "\"name\":\"" + JsonEscape(name_) + "\",";
  o += "\"tsa_subject\":\"" + JsonEscape(subject) + "\"";
  o += ",\"tsa_serial\":\"" + IntegerHex(X509_get0_serialNumber(signer)) + "\"";
  o += ",\"gen_time\":\"" + IsoTime(secs, ms) + "\"";
  o += ",\"gen_time_ms\":" + std::to_string(ms);
  o += ",\"policy\":\"" + JsonEscape(policy) + "\"";
  o += ",\"serial\":\"" + IntegerHex(TS_TST_INFO_get_serial(tst)) + "\"";
  o += ",\"status\":\"" + std::string(StatusName(status)) + "\"}";
  *json = std::move(o);
  return Error{};
}

}  // namespace vigil::rfc3161
