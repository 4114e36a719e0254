#include "vigil/wire.h"

namespace vigil::wire {
namespace {

Status CheckId(const std::string& id, const char* what) {
  if (id.size() != kIdSize) {
    return Status::InvalidArgument(std::string(what) + " must be 16 bytes");
  }
  return Status::Ok();
}

Status CheckRequestBody(const v1::Request& r) {
  switch (r.body_case()) {
    case v1::Request::kEnroll: {
      const auto& e = r.enroll();
      if (e.invite_secret().size() != 32 || e.identity_public_key().size() != 32 ||
          e.device_transport_key().size() != 32) {
        return Status::InvalidArgument("enroll: key sizes are wrong");
      }
      return CheckId(e.device().device_id(), "device id");
    }
    case v1::Request::kSend: {
      const auto& s = r.send();
      VIGIL_RETURN_IF_ERROR(CheckId(s.message_id(), "message id"));
      if (s.deliveries_size() == 0) return Status::InvalidArgument("send: no deliveries");
      if (s.deliveries_size() > kMaxDeliveries) {
        return Status::InvalidArgument("send: too many deliveries");
      }
      for (const auto& d : s.deliveries()) {
        VIGIL_RETURN_IF_ERROR(CheckId(d.device_id(), "recipient device id"));
        if (d.blob().empty() || d.blob().size() > kMaxBlobSize) {
          return Status::InvalidArgument("send: delivery size out of bounds");
        }
      }
      return Status::Ok();
    }
    case v1::Request::kFetch:
      return Status::Ok();
    case v1::Request::kAck:
      if (r.ack().seqs_size() > kMaxItems) return Status::InvalidArgument("ack: too many items");
      return Status::Ok();
    case v1::Request::kDirectory: {
      const auto& d = r.directory();
      if (d.names_size() + d.device_ids_size() > kMaxItems) {
        return Status::InvalidArgument("directory: too many items");
      }
      for (const auto& n : d.names()) {
        if (n.empty() || n.size() > 64) return Status::InvalidArgument("directory: bad name");
      }
      for (const auto& id : d.device_ids()) VIGIL_RETURN_IF_ERROR(CheckId(id, "device id"));
      return Status::Ok();
    }
    case v1::Request::kPing:
      return Status::Ok();
    case v1::Request::kPutChunk: {
      const auto& c = r.put_chunk();
      VIGIL_RETURN_IF_ERROR(CheckId(c.blob_id(), "blob id"));
      if (c.count() == 0 || c.count() > kMaxChunksPerBlob || c.index() >= c.count() ||
          c.data().empty() || c.data().size() > kMaxBlobSize) {
        return Status::InvalidArgument("put chunk: index, count or size out of bounds");
      }
      return Status::Ok();
    }
    case v1::Request::kGetChunk:
      VIGIL_RETURN_IF_ERROR(CheckId(r.get_chunk().blob_id(), "blob id"));
      if (r.get_chunk().index() >= kMaxChunksPerBlob) {
        return Status::InvalidArgument("get chunk: index out of bounds");
      }
      return Status::Ok();
    case v1::Request::kCreateInvite: {
      const auto& c = r.create_invite();
      if (c.role().size() > 32 || c.name().empty() || c.name().size() > 64 ||
          c.expires_in_s() < 0 || c.expires_in_s() > 30 * 86400) {
        return Status::InvalidArgument("create invite: bad role, name or expiry");
      }
      return Status::Ok();
    }
    case v1::Request::kStamp: {
      const auto& st = r.stamp();
      if (st.digest().size() != 32) return Status::InvalidArgument("stamp: a digest is 32 bytes");
      if (st.plugins_size() > 8) return Status::InvalidArgument("stamp: too many plugins");
      for (const auto& p : st.plugins()) {
        if (p.empty() || p.size() > 32) return Status::InvalidArgument("stamp: bad plugin name");
      }
      return Status::Ok();
    }
    case v1::Request::kPluginCall: {
      const auto& c = r.plugin_call();
      if (c.plugin().empty() || c.plugin().size() > 32 || c.request().size() > 1024) {
        return Status::InvalidArgument("plugin call: bad plugin name or request size");
      }
      return Status::Ok();
    }
    case v1::Request::kPublishPrekeys: {
      const auto& pp = r.publish_prekeys();
      if (pp.signed_prekey().size() > 256 || pp.one_time_prekeys_size() > 100) {
        return Status::InvalidArgument("publish prekeys: too many or too large");
      }
      for (const auto& k : pp.one_time_prekeys()) {
        if (k.empty() || k.size() > 128) return Status::InvalidArgument("publish prekeys: bad one-time prekey");
      }
      return Status::Ok();
    }
    case v1::Request::kPrekeyBundles: {
      const auto& pb = r.prekey_bundles();
      if (pb.device_ids_size() == 0 || pb.device_ids_size() > 64) {
        return Status::InvalidArgument("prekey bundles: 1 to 64 devices");
      }
      for (const auto& id : pb.device_ids()) VIGIL_RETURN_IF_ERROR(CheckId(id, "device id"));
      return Status::Ok();
    }
    case v1::Request::kCreateLink: {
      const auto& c = r.create_link();
      if (c.transport_key().size() != 32 || c.verifier().size() != 32) {
        return Status::InvalidArgument("create link: bad key sizes");
      }
      return Status::Ok();
    }
    case v1::Request::kLinkDevice: {
      const auto& l = r.link_device();
      VIGIL_RETURN_IF_ERROR(CheckId(l.device_id(), "device id"));
      if (l.device_transport_key().size() != 32 || l.request().empty() || l.request().size() > 4096) {
        return Status::InvalidArgument("link device: bad key or request size");
      }
      return Status::Ok();
    }
    case v1::Request::kCertifyDevice: {
      const auto& d = r.certify_device().device();
      VIGIL_RETURN_IF_ERROR(CheckId(d.device_id(), "device id"));
      if (d.certificate().empty() || d.certificate().size() > 1024 || d.certificate_signature().size() != 64) {
        return Status::InvalidArgument("certify device: bad certificate");
      }
      return Status::Ok();
    }
    case v1::Request::kRevokeDevice:
      return CheckId(r.revoke_device().device_id(), "device id");
    case v1::Request::BODY_NOT_SET:
      break;
  }
  return Status::InvalidArgument("request has no known body");
}

}  // namespace

StatusOr<v1::Request> DecodeRequest(ByteSpan frame) {
  if (frame.size() > kMaxMessageSize) return Status::ResourceExhausted("request too large");
  v1::Request r;
  if (!r.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
    return Status::InvalidArgument("malformed request (not a Vigil protobuf envelope)");
  }
  if (r.version() != kProtocolVersion) {
    return Status::Unimplemented("unsupported protocol version " +
                                 std::to_string(r.version()) + " (this relay speaks 1)");
  }
  if (r.request_id() == 0) return Status::InvalidArgument("request id must not be 0");
  VIGIL_RETURN_IF_ERROR(CheckRequestBody(r));
  return r;
}

StatusOr<v1::Response> DecodeResponse(ByteSpan frame) {
  if (frame.size() > kMaxMessageSize) return Status::ResourceExhausted("response too large");
  v1::Response r;
  if (!r.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
    return Status::InvalidArgument("malformed response from relay");
  }
  if (r.version() != kProtocolVersion) {
    return Status::Unimplemented("relay speaks unsupported protocol version " +
                                 std::to_string(r.version()));
  }
  if (r.has_fetch() && r.fetch().items_size() > kMaxItems) {
    return Status::InvalidArgument("fetch response has too many items");
  }
  if (r.has_directory() && r.directory().members_size() > kMaxItems) {
    return Status::InvalidArgument("directory response has too many members");
  }
  if (r.has_prekey_bundles() && r.prekey_bundles().bundles_size() > 64) {
    return Status::InvalidArgument("prekey response has too many bundles");
  }
  if (r.has_stamp() && r.stamp().results_size() > 8) {
    return Status::InvalidArgument("stamp response has too many results");
  }
  if (r.has_ping() && r.ping().anchors_size() > 16) {
    return Status::InvalidArgument("ping response lists too many anchors");
  }
  return r;
}

Bytes EncodeRequest(const v1::Request& request) {
  Bytes out(request.ByteSizeLong());
  request.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

Bytes EncodeResponse(const v1::Response& response) {
  Bytes out(response.ByteSizeLong());
  response.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

void SetError(v1::Response* response, const Status& status) {
  response->clear_body();
  auto* e = response->mutable_error();
  e->set_code(static_cast<v1::ErrorCode>(static_cast<int>(status.code())));
  e->set_message(status.message());
}

Status StatusFromResponse(const v1::Response& response) {
  if (!response.has_error() || response.error().code() == v1::OK) return Status::Ok();
  int code = static_cast<int>(response.error().code());
  if (code < 0 || code > static_cast<int>(Code::kDeadlineExceeded)) {
    code = static_cast<int>(Code::kInternal);
  }
  return Status(static_cast<Code>(code), response.error().message());
}

}  // namespace vigil::wire
