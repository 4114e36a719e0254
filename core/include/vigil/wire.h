// The envelope codec: size, count and version checks around the protobuf
// wire messages (proto/vigil/wire/v1/wire.proto). Everything that parses
// bytes from the network goes through here.
//
// Thread safety: free functions, thread-safe.
#ifndef VIGIL_WIRE_H_
#define VIGIL_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "vigil/bytes.h"
#include "vigil/status.h"
#include "vigil/wire/v1/wire.pb.h"

namespace vigil::wire {


inline constexpr uint32_t kProtocolVersion = 1;
// Largest body frame either side accepts (also ZMQ_MAXMSGSIZE).
inline constexpr size_t kMaxMessageSize = 8 * 1024 * 1024;
// Largest single delivery blob in a Send.
inline constexpr size_t kMaxBlobSize = 2 * 1024 * 1024;
// Most deliveries in one Send (fan-out to every device of a team).
inline constexpr int kMaxDeliveries = 512;
// Most items in Fetch/Ack/Directory requests and responses.
inline constexpr int kMaxItems = 1000;
inline constexpr size_t kIdSize = 16;  // device ids and message ids
// Attachment blobs: chunks of at most kMaxBlobSize, at most this many.
inline constexpr uint32_t kMaxChunksPerBlob = 64;

// Parses and checks a request: size, protobuf well-formedness, version
// (Unimplemented for any other), request_id != 0, a body present, and the
// per-type bounds above. The error message says which rule failed.
StatusOr<v1::Request> DecodeRequest(ByteSpan frame);
// Same for responses (client side).
StatusOr<v1::Response> DecodeResponse(ByteSpan frame);

Bytes EncodeRequest(const v1::Request& request);
Bytes EncodeResponse(const v1::Response& response);

// Fills response->error from a non-OK status (message as the status').
void SetError(v1::Response* response, const Status& status);
// The status a response carries (OK when it has no error).
Status StatusFromResponse(const v1::Response& response);

}  // namespace vigil::wire

#endif  // VIGIL_WIRE_H_
