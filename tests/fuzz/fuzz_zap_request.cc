// Fuzz target: ZAP requests (RFC 27), as libzmq hands the relay's ZAP
// handler whatever a connecting peer's handshake produced: net::AnswerZap,
// the whole of ZapHandler::ServeOne but the socket. The input is split into
// frames, each a length byte then that many bytes (the last frame takes
// what is left), at most 16 frames as ServeOne keeps.
//
// Checked on every input: the reply is six frames ("1.0", the request id,
// status, text, user id, ""); the authenticator runs only for a well-formed
// CURVE request in the "vigil" domain with a 32-byte key; 200 only when it
// admitted the key, with its user id; anything else carries no user id.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "vigil/net.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  std::vector<std::string> frames;
  size_t pos = 0;
  while (pos < size && frames.size() < 16) {
    size_t len = data[pos++];
    len = std::min(len, size - pos);
    frames.emplace_back(reinterpret_cast<const char*>(data + pos), len);
    pos += len;
  }
  int calls = 0;
  std::optional<std::string> admitted;
  auto auth = [&](const net::ZapRequest& req) -> std::optional<std::string> {
    ++calls;
    if (req.domain != net::kZapDomain || req.mechanism != "CURVE" || req.client_key.size() != 32) std::abort();
    // Admit keys by their first byte: some enrolled, some unknown, and
    // an authenticator that answers with an empty user id.
    switch (req.client_key[0] % 3) {
      case 0: admitted = "d:" + HexEncode(req.client_key); break;
      case 1: admitted = std::string(); break;
      default: admitted = std::nullopt; break;
    }
    return admitted;
  };
  std::vector<std::string> reply = net::AnswerZap(frames, auth);

  bool well_formed = frames.size() == 7 && frames[0] == "1.0" && frames[2] == net::kZapDomain &&
                     frames[5] == "CURVE" && frames[6].size() == 32;
  if (calls != (well_formed ? 1 : 0)) std::abort();
  if (reply.size() != 6 || reply[0] != "1.0" || !reply[5].empty()) std::abort();
  if (reply[1] != (frames.size() > 1 ? frames[1] : std::string())) std::abort();
  const std::string& status = reply[2];
  if (status == "200") {
    if (!admitted || admitted->empty() || reply[4] != *admitted || reply[3] != "OK") std::abort();
  } else if (status == "400" || status == "500") {
    if (!reply[4].empty()) std::abort();
    if ((status == "500") != (frames.size() < 6 || frames[0] != "1.0")) std::abort();
  } else {
    std::abort();
  }
  return 0;
}
