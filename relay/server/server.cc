#include "relay/server/server.h"

#include "relay/server/anchors.h"

#include <sys/statvfs.h>

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "vigil/identity.h"
#include "vigil/log.h"
#include "vigil/net.h"
#include "vigil/session.h"
#include "vigil/store/v1/session.pb.h"
#include "vigil/store/v1/store.pb.h"
#include "vigil/wire.h"

namespace vigil::relay {
namespace {

namespace v1 = wire::v1;

constexpr char kDevicePrefix[] = "d:";
constexpr char kInvitePrefix[] = "i:";

std::string Short(ByteSpan id) { return HexEncode(id).substr(0, 8); }

// Who sent a request, resolved from the ZAP User-Id on every request (so a
// revocation takes effect on an open connection's next request).
struct Principal {
  enum Kind { kNone, kDevice, kInvite } kind = kNone;
  DeviceRow device;
  InviteRow invite;
};

// ZAP: admit active enrolled devices and holders of a live invite.
// `connections` mirrors the ROUTER's count of open TCP connections (the
// router loop copies it after every poll).
void RunZap(net::ZapHandler& zap, RelayStore& store, const std::atomic<bool>& stop,
            const std::atomic<int>& connections, int max_connections) {
  auto auth = [&store, &connections, max_connections](const net::ZapRequest& req) -> std::optional<std::string> {
    // The connection being authenticated is already counted.
    if (connections.load() > max_connections) {
      log::Warn("zap_refused", {{"reason", "connection limit"}});
      return std::nullopt;
    }
    auto dev = store.FindDeviceByTransportKey(req.client_key);
    if (!dev.ok()) {
      log::Error("zap_store_error", {{"error", dev.status().message()}});
      return std::nullopt;
    }
    if (*dev) {
      if ((*dev)->revoked) {
        log::Info("zap_refused", {{"reason", "revoked"}, {"device", Short((*dev)->id)}});
        return std::nullopt;
      }
      return kDevicePrefix + HexEncode((*dev)->id);
    }
    // Any invite the relay issued may connect, so that a used or expired
    // one gets a clear answer from Enroll; it can do nothing else.
    auto inv = store.FindInviteByTransportKey(req.client_key);
    if (!inv.ok()) {
      log::Error("zap_store_error", {{"error", inv.status().message()}});
      return std::nullopt;
    }
    if (*inv) return kInvitePrefix + HexEncode((*inv)->id);
    log::Info("zap_refused", {{"reason", "unknown key"}});
    return std::nullopt;
  };
  while (!stop.load()) {
    auto r = zap.ServeOne(200, auth);
    if (!r.ok()) {
      if (r.status().code() == Code::kUnavailable) return;  // context shut down
      log::Error("zap_error", {{"error", r.status().message()}});
    }
  }
}

// Copies committed WAL frames into relay.db on a connection of its own, so
// that the request loop's commits do not wait for checkpoints (the loop's
// connection checkpoints by itself only as a backstop, see Serve). A
// failing checkpoint loses nothing (the frames stay in the WAL) and is
// logged once per failure spell.
void RunCheckpointer(RelayStore& store, const std::atomic<bool>& stop) {
  bool failing = false;
  while (!stop.load()) {
    Status s = store.db().Exec("PRAGMA wal_checkpoint(PASSIVE)");
    if (!s.ok() && !failing) log::Warn("checkpoint_failed", {{"error", s.message()}});
    if (s.ok() && failing) log::Info("checkpoint_recovered");
    failing = !s.ok();
    for (int i = 0; i < 10 && !stop.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

class Handler {
 public:
  Handler(RelayStore& store, const RelayKeys& keys, const ServerOptions& opt)
      : store_(store), keys_(keys), opt_(opt) {}
  void set_anchor_names(std::vector<std::string> names) { anchor_names_ = std::move(names); }
  // Called before every batch: what was learnt about devices holds only
  // while the batch holds the store's write lock.
  void StartBatch() { active_devices_.clear(); }

  StatusOr<Principal> Resolve(const std::string& user_id) {
    Principal p;
    auto starts = [&](const char* pre) { return user_id.rfind(pre, 0) == 0; };
    if (starts(kDevicePrefix)) {
      auto id = HexDecode(user_id.substr(2));
      if (!id.ok()) return p;
      VIGIL_ASSIGN_OR_RETURN(auto dev, store_.FindDevice(*id));
      if (dev && !dev->revoked) {
        p.kind = Principal::kDevice;
        p.device = std::move(*dev);
      }
    } else if (starts(kInvitePrefix)) {
      auto id = HexDecode(user_id.substr(2));
      if (!id.ok()) return p;
      VIGIL_ASSIGN_OR_RETURN(auto inv, store_.FindInvite(*id));
      if (inv) {
        p.kind = Principal::kInvite;
        p.invite = std::move(*inv);
      }
    }
    return p;
  }

  // Per-device token bucket; false when the device must slow down.
  bool Admit(const Bytes& device) {
    int64_t now = NowMs();
    Bucket& b = buckets_[device];
    double burst = 2 * opt_.rate_limit_per_s;
    if (b.last_ms == 0) b.tokens = burst;
    b.tokens = std::min(burst, b.tokens + (now - b.last_ms) * opt_.rate_limit_per_s / 1000.0);
    b.last_ms = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  // Checked at most once a second.
  bool DiskBelowFloor() {
    int64_t now = NowMs();
    if (now - disk_checked_ms_ >= 1000) {
      disk_checked_ms_ = now;
      struct statvfs vfs;
      disk_low_ = statvfs(opt_.data_dir.c_str(), &vfs) == 0 &&
                  static_cast<int64_t>(vfs.f_bavail) * static_cast<int64_t>(vfs.f_frsize) <
                      opt_.min_free_disk_bytes;
    }
    return disk_low_;
  }

  // Handles one request inside the batch transaction. `wrote` says whether
  // the response must wait for the commit.
  Status Handle(const Principal& who, const v1::Request& req, v1::Response* resp,
                std::vector<Bytes>* notify) {
    if (who.kind == Principal::kInvite) {
      if (who.invite.role == kLinkRole) {
        if (req.body_case() != v1::Request::kLinkDevice) {
          return Status::PermissionDenied("a link code may only be used to link a device");
        }
        return LinkDevice(who.invite, req.link_device(), resp, notify);
      }
      if (req.body_case() != v1::Request::kEnroll) {
        return Status::PermissionDenied("an invite may only be used to enroll");
      }
      return Enroll(who.invite, req.enroll(), resp);
    }
    if (who.kind != Principal::kDevice) {
      return Status::PermissionDenied("this device is not enrolled or has been revoked");
    }
    const DeviceRow& dev = who.device;
    if (!Admit(dev.id)) {
      return Status::ResourceExhausted("too many requests from this device; slow down and retry");
    }
    // A linked device that no device of its member has certified yet may
    // only wait for its certificate.
    if (dev.certificate.empty() && req.body_case() != v1::Request::kFetch && req.body_case() != v1::Request::kAck &&
        req.body_case() != v1::Request::kPing && req.body_case() != v1::Request::kPublishPrekeys) {
      return Status::PermissionDenied(
          "this device is waiting to be certified; sync the device that made the link code");
    }
    bool adds_data = req.body_case() == v1::Request::kSend || req.body_case() == v1::Request::kPutChunk;
    if (adds_data && DiskBelowFloor()) {
      return Status::ResourceExhausted(
          "the relay's disk is nearly full; sending is paused (nothing was stored), fetching still works");
    }
    switch (req.body_case()) {
      case v1::Request::kEnroll:
        return Status::FailedPrecondition("this device is already enrolled");
      case v1::Request::kSend:
        return Send(dev, req.send(), resp, notify);
      case v1::Request::kFetch: {
        int max = req.fetch().max_items() == 0
                      ? opt_.fetch_max_items
                      : std::min<int>(static_cast<int>(req.fetch().max_items()), opt_.fetch_max_items);
        return store_.Fetch(dev.id, req.fetch().after_seq(), max, opt_.fetch_max_bytes,
                            resp->mutable_fetch());
      }
      case v1::Request::kAck: {
        std::vector<uint64_t> seqs(req.ack().seqs().begin(), req.ack().seqs().end());
        VIGIL_ASSIGN_OR_RETURN(int n, store_.Ack(dev.id, seqs));
        resp->mutable_ack()->set_deleted(static_cast<uint32_t>(n));
        return Status::Ok();
      }
      case v1::Request::kDirectory:
        return Directory(req.directory(), resp);
      case v1::Request::kPing: {
        resp->mutable_ping()->set_relay_time_ms(NowMs());
        VIGIL_ASSIGN_OR_RETURN(auto rotation, store_.PendingRotation());
        if (rotation) {
          resp->mutable_ping()->set_next_transport_key(ToString(rotation->next_public));
          resp->mutable_ping()->set_rotation_signature(ToString(rotation->signature));
        }
        for (const auto& a : anchor_names_) resp->mutable_ping()->add_anchors(a);
        return Status::Ok();
      }
      case v1::Request::kCreateInvite:
        return CreateInvite(dev, req.create_invite(), resp);
      case v1::Request::kPutChunk: {
        const auto& c = req.put_chunk();
        VIGIL_RETURN_IF_ERROR(store_.PutChunk(AsBytes(c.blob_id()), c.index(), c.count(),
                                              AsBytes(c.data()), dev.id, NowMs()));
        resp->mutable_put_chunk();
        return Status::Ok();
      }
      case v1::Request::kGetChunk: {
        VIGIL_ASSIGN_OR_RETURN(auto chunk, store_.GetChunk(AsBytes(req.get_chunk().blob_id()),
                                                           req.get_chunk().index()));
        resp->mutable_get_chunk()->set_count(chunk.first);
        resp->mutable_get_chunk()->set_data(ToString(chunk.second));
        return Status::Ok();
      }
      case v1::Request::kStamp:
      case v1::Request::kPluginCall:
        return Status::Internal("anchor requests are not handled in a batch");
      case v1::Request::kPublishPrekeys:
        return PublishPrekeys(dev, req.publish_prekeys(), resp);
      case v1::Request::kCreateLink: {
        int64_t now = NowMs();
        VIGIL_ASSIGN_OR_RETURN(Bytes id, store_.CreateLink(dev.member, AsBytes(req.create_link().transport_key()),
                                                           AsBytes(req.create_link().verifier()), now,
                                                           now + 10 * 60 * 1000));
        resp->mutable_create_link()->set_link_id(ToString(id));
        resp->mutable_create_link()->set_expires_at_ms(now + 10 * 60 * 1000);
        return Status::Ok();
      }
      case v1::Request::kLinkDevice:
        return Status::FailedPrecondition("this device is already enrolled");
      case v1::Request::kCertifyDevice: {
        const auto& d = req.certify_device().device();
        VIGIL_ASSIGN_OR_RETURN(auto target, store_.FindDevice(AsBytes(d.device_id())));
        if (!target || target->member != dev.member) {
          return Status::NotFound("no device of yours is waiting for a certificate with that id");
        }
        VIGIL_ASSIGN_OR_RETURN(auto m, store_.FindMember(dev.member, false));
        if (!m) return Status::NotFound("member not found");
        auto cert = identity::VerifyDevice(d, m->identity_key);
        if (!cert.ok()) return cert.status().WithContext("certify device");
        VIGIL_RETURN_IF_ERROR(store_.SetCertificate(AsBytes(d.device_id()), AsBytes(d.certificate()),
                                                    AsBytes(d.certificate_signature()), NowMs()));
        log::Info("device_certified", {{"device", Short(AsBytes(d.device_id()))}});
        resp->mutable_certify_device();
        return Status::Ok();
      }
      case v1::Request::kRevokeDevice: {
        Bytes target_id = ToBytes(req.revoke_device().device_id());
        VIGIL_ASSIGN_OR_RETURN(auto target, store_.FindDevice(target_id));
        if (!target || target->member != dev.member) return Status::NotFound("you have no device with that id");
        if (target_id == dev.id) {
          return Status::InvalidArgument("a device cannot revoke itself; revoke it from another device");
        }
        if (target->revoked) return Status::FailedPrecondition("that device is already revoked");
        VIGIL_RETURN_IF_ERROR(store_.RevokeDeviceInTxn(target_id, NowMs()));
        active_devices_.clear();  // later sends in this batch look it up again
        store_.Audit(NowMs(), "revoke", "device " + HexEncode(target_id) + " by its member's device");
        log::Info("device_revoked", {{"device", Short(target_id)}, {"by", Short(dev.id)}});
        resp->mutable_revoke_device();
        return Status::Ok();
      }
      case v1::Request::kPrekeyBundles:
        return PrekeyBundles(req.prekey_bundles(), resp);
      case v1::Request::BODY_NOT_SET:
        break;
    }
    return Status::InvalidArgument("request has no known body");
  }

 private:
  Status Enroll(const InviteRow& invite, const v1::EnrollRequest& e, v1::Response* resp) {
    int64_t now = NowMs();
    if (invite.used_at_ms) return Status::FailedPrecondition("this invite has already been used");
    if (invite.expires_at_ms <= now) return Status::FailedPrecondition("this invite has expired");
    crypto::SecretBytes secret = crypto::SecretBytes::CopyOf(AsBytes(e.invite_secret()));
    if (!crypto::ConstantTimeEqual(identity::InviteVerifier(secret), invite.verifier)) {
      return Status::Unauthenticated("the invite secret does not match");
    }
    auto cert = identity::VerifyDevice(e.device(), AsBytes(e.identity_public_key()));
    if (!cert.ok()) return cert.status().WithContext("enroll");
    VIGIL_RETURN_IF_ERROR(store_.Enroll(invite, AsBytes(e.identity_public_key()), e.device(),
                                        AsBytes(e.device_transport_key()), now));
    auto* r = resp->mutable_enroll();
    r->set_name(invite.name);
    r->set_role(invite.role);
    r->set_relay_signing_public_key(ToString(keys_.signing_public));
    log::Info("enrolled", {{"role", invite.role},
                           {"device", Short(AsBytes(e.device().device_id()))}});
    return Status::Ok();
  }

  // Coordinators may invite volunteers and legal advisers; coordinators
  // themselves are invited by the operator (vigil-relay invite).
  Status CreateInvite(const DeviceRow& by, const v1::CreateInviteRequest& c, v1::Response* resp) {
    if (by.role != "coordinator") {
      return Status::PermissionDenied("only coordinators may invite members");
    }
    if (c.role() != "volunteer" && c.role() != "legal") {
      return Status::PermissionDenied(
          "coordinators may invite volunteers and legal advisers; ask the relay operator for a "
          "coordinator invite");
    }
    int64_t now = NowMs();
    int64_t ttl = c.expires_in_s() > 0 ? c.expires_in_s() : opt_.default_invite_ttl_s;
    VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes secret,
                           store_.CreateInviteInTxn(c.role(), c.name(), now, now + ttl * 1000));
    identity::Invite inv{keys_.listen, keys_.transport_public, std::move(secret)};
    resp->mutable_create_invite()->set_invite_code(identity::EncodeInvite(inv));
    log::Info("invite_created", {{"role", c.role()}, {"by", Short(by.id)}});
    return Status::Ok();
  }

  Status Send(const DeviceRow& from, const v1::SendRequest& s, v1::Response* resp,
              std::vector<Bytes>* notify) {
    int64_t now = NowMs();
    // Every recipient must be an active device; the whole send fails
    // otherwise so that the sender refreshes its directory.
    for (const auto& d : s.deliveries()) {
      Bytes id = ToBytes(d.device_id());
      if (active_devices_.count(id) == 0) {
        VIGIL_ASSIGN_OR_RETURN(auto dev, store_.FindDevice(id));
        if (!dev || dev->revoked || dev->certificate.empty()) {
          return Status::FailedPrecondition("recipient device " + Short(id) +
                                            " is not active; refresh the directory");
        }
        active_devices_.insert(std::move(id));
      }
      VIGIL_ASSIGN_OR_RETURN(int64_t queued, store_.MailboxBytes(AsBytes(d.device_id())));
      if (queued + static_cast<int64_t>(d.blob().size()) > opt_.mailbox_quota_bytes) {
        return Status::ResourceExhausted("the mailbox of recipient device " + Short(AsBytes(d.device_id())) +
                                         " is full; it must sync before it can receive more");
      }
    }
    uint32_t stored = 0;
    for (const auto& d : s.deliveries()) {
      VIGIL_ASSIGN_OR_RETURN(bool fresh, store_.StoreDelivery(AsBytes(d.device_id()),
                                                              AsBytes(s.message_id()), from.id,
                                                              now, AsBytes(d.blob())));
      if (fresh) {
        ++stored;
        notify->push_back(ToBytes(d.device_id()));
      }
    }
    resp->mutable_send()->set_stored(stored);
    return Status::Ok();
  }

  // A device publishes its prekeys. The relay checks the signed prekey's
  // signature against the device's certified key so that a broken client
  // cannot publish garbage; receivers check again.
  Status PublishPrekeys(const DeviceRow& dev, const v1::PublishPrekeysRequest& p, v1::Response* resp) {
    int64_t now = NowMs();
    if (!p.signed_prekey().empty()) {
      store::v1::SignedPrekey spk;
      store::v1::DeviceCertificate cert;
      if (!spk.ParseFromString(p.signed_prekey()) || spk.public_key().size() != 32 ||
          spk.signature().size() != 64 || !cert.ParseFromString(ToString(dev.certificate))) {
        return Status::InvalidArgument("publish prekeys: malformed signed prekey");
      }
      // (A linked device publishes before it is certified; its bundle is
      // handed out only once it is, and clients check the signature then.)
      Bytes msg = session::SignedPrekeyMessage(spk.id(), AsBytes(spk.public_key()), spk.created_at_ms());
      if (!dev.certificate.empty() &&
          !crypto::Verify(AsBytes(cert.signing_public_key()), msg, AsBytes(spk.signature())).ok()) {
        return Status::Unauthenticated("publish prekeys: the signed prekey is not signed by this device");
      }
      VIGIL_RETURN_IF_ERROR(store_.PutPrekey(dev.id, "signed", spk.id(), AsBytes(p.signed_prekey()), now));
      VIGIL_RETURN_IF_ERROR(store_.DropOldSignedPrekeys(dev.id, 2));
    }
    VIGIL_ASSIGN_OR_RETURN(int64_t have, store_.CountPrekeys(dev.id, "one"));
    if (have + p.one_time_prekeys_size() > 200) {
      return Status::ResourceExhausted("publish prekeys: at most 200 one-time prekeys may wait at the relay");
    }
    for (const auto& k : p.one_time_prekeys()) {
      store::v1::OneTimePrekey otp;
      if (!otp.ParseFromString(k) || otp.public_key().size() != 32) {
        return Status::InvalidArgument("publish prekeys: malformed one-time prekey");
      }
      VIGIL_RETURN_IF_ERROR(store_.PutPrekey(dev.id, "one", otp.id(), AsBytes(k), now));
    }
    VIGIL_ASSIGN_OR_RETURN(int64_t left, store_.CountPrekeys(dev.id, "one"));
    resp->mutable_publish_prekeys()->set_one_time_left(static_cast<uint32_t>(left));
    return Status::Ok();
  }

  // One bundle per active device; each one-time prekey leaves the relay
  // with the bundle that carries it (never handed out twice).
  Status PrekeyBundles(const v1::PrekeyBundlesRequest& r, v1::Response* resp) {
    auto* out = resp->mutable_prekey_bundles();
    for (const auto& id : r.device_ids()) {
      VIGIL_ASSIGN_OR_RETURN(auto dev, store_.FindDevice(AsBytes(id)));
      auto* item = out->add_bundles();
      item->set_device_id(id);
      if (!dev || dev->revoked || dev->certificate.empty()) continue;
      VIGIL_ASSIGN_OR_RETURN(auto spk, store_.TakePrekey(AsBytes(id), "signed", false));
      if (!spk) continue;
      store::v1::PrekeyBundle b;
      b.set_version(1);
      b.set_device_id(id);
      if (!b.mutable_signed_prekey()->ParseFromArray(spk->data(), static_cast<int>(spk->size()))) continue;
      VIGIL_ASSIGN_OR_RETURN(auto otp, store_.TakePrekey(AsBytes(id), "one", true));
      if (otp) b.mutable_one_time_prekey()->ParseFromArray(otp->data(), static_cast<int>(otp->size()));
      item->set_bundle(b.SerializeAsString());
    }
    return Status::Ok();
  }

  // The new device of a link code: registered uncertified; its request goes
  // to every certified device of the member (the one holding the link
  // secret answers it).
  Status LinkDevice(const InviteRow& link, const v1::LinkDeviceRequest& l, v1::Response* resp,
                    std::vector<Bytes>* notify) {
    int64_t now = NowMs();
    if (link.used_at_ms) return Status::FailedPrecondition("this link code has already been used");
    if (link.expires_at_ms <= now) return Status::FailedPrecondition("this link code has expired; make a new one");
    VIGIL_ASSIGN_OR_RETURN(auto m, store_.FindMember(link.name, true));
    if (!m || m->revoked) return Status::FailedPrecondition("the member of this link code no longer exists");
    VIGIL_RETURN_IF_ERROR(store_.AddLinkedDevice(link, AsBytes(l.device_id()), AsBytes(l.device_transport_key()), now));
    for (const auto& d : m->devices) {
      if (d.revoked || d.certificate.empty()) continue;
      VIGIL_ASSIGN_OR_RETURN(bool fresh, store_.StoreDelivery(d.id, link.id, AsBytes(l.device_id()), now,
                                                              AsBytes(l.request())));
      if (fresh) notify->push_back(d.id);
    }
    auto* r = resp->mutable_link_device();
    r->set_name(m->name);
    r->set_role(m->role);
    r->set_relay_signing_public_key(ToString(keys_.signing_public));
    r->set_identity_public_key(ToString(m->identity_key));
    r->set_link_id(ToString(link.id));
    log::Info("device_link_requested", {{"device", Short(AsBytes(l.device_id()))}});
    return Status::Ok();
  }

  Status Directory(const v1::DirectoryRequest& d, v1::Response* resp) {
    auto* out = resp->mutable_directory();
    auto add_member = [&](const MemberRow& m, const std::optional<Bytes>& only_device) {
      auto* dm = out->add_members();
      dm->set_name(m.name);
      dm->set_role(m.role);
      dm->set_identity_public_key(ToString(m.identity_key));
      for (const auto& dev : m.devices) {
        if (dev.revoked || dev.certificate.empty()) continue;
        if (only_device && dev.id != *only_device) continue;
        auto* dd = dm->add_devices();
        dd->set_device_id(ToString(dev.id));
        dd->set_certificate(ToString(dev.certificate));
        dd->set_certificate_signature(ToString(dev.certificate_signature));
      }
    };
    if (d.all_members()) {
      VIGIL_ASSIGN_OR_RETURN(auto all, store_.ListMembers());
      for (const auto& row : all) {
        if (row.revoked || out->members_size() >= 1000) continue;
        VIGIL_ASSIGN_OR_RETURN(auto m, store_.FindMember(row.name, true));
        if (m) add_member(*m, std::nullopt);
      }
    }
    // Unknown or revoked names are left out; the client says which.
    for (const auto& name : d.names()) {
      VIGIL_ASSIGN_OR_RETURN(auto m, store_.FindMember(name, true));
      if (!m || m->revoked) continue;
      add_member(*m, std::nullopt);
    }
    for (const auto& id : d.device_ids()) {
      VIGIL_ASSIGN_OR_RETURN(auto dev, store_.FindDevice(AsBytes(id)));
      if (!dev) return Status::NotFound("no device " + Short(AsBytes(id)));
      VIGIL_ASSIGN_OR_RETURN(auto m, store_.FindMember(dev->member, true));
      if (!m) return Status::NotFound("no device " + Short(AsBytes(id)));
      // Sender lookups include revoked devices' certificates so that mail
      // sent before a revocation can still be verified.
      auto* dm = out->add_members();
      dm->set_name(m->name);
      dm->set_role(m->role);
      dm->set_identity_public_key(ToString(m->identity_key));
      auto* dd = dm->add_devices();
      dd->set_device_id(ToString(dev->id));
      dd->set_certificate(ToString(dev->certificate));
      dd->set_certificate_signature(ToString(dev->certificate_signature));
    }
    return Status::Ok();
  }

  struct Bucket {
    double tokens = 0;
    int64_t last_ms = 0;
  };
  RelayStore& store_;
  const RelayKeys& keys_;
  const ServerOptions& opt_;
  std::map<Bytes, Bucket> buckets_;
  std::vector<std::string> anchor_names_;
  std::set<Bytes> active_devices_;  // recipients found active in this batch
  int64_t disk_checked_ms_ = 0;
  bool disk_low_ = false;
};

struct Pending {
  Bytes routing_id;
  v1::Response response;
};

// How a request runs inside the batch transaction.
enum class Isolation {
  // Only reads: nothing to undo.
  kReadOnly,
  // Checks everything before its first write, so that once it writes it can
  // fail only on a store error (disk full, I/O): no savepoint of its own.
  // Should it fail after changing rows, the whole batch is rolled back.
  kChecksFirst,
  // Anything else: a savepoint of its own, rolled back alone on failure.
  kSavepoint,
};

Isolation IsolationOf(const v1::Request& req) {
  switch (req.body_case()) {
    case v1::Request::kFetch:
    case v1::Request::kDirectory:
    case v1::Request::kPing:
    case v1::Request::kGetChunk:
      return Isolation::kReadOnly;
    case v1::Request::kSend:
    case v1::Request::kAck:
    case v1::Request::kPutChunk:
      return Isolation::kChecksFirst;
    default:
      return Isolation::kSavepoint;
  }
}

// Runs one cached statement (SAVEPOINT and friends) to completion.
Status RunCached(storage::Db& db, std::string_view sql) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db.PrepareCached(sql));
  return st->Run();
}

// Whether a request's writes must be on disk before its answer leaves.
// Sends, enrolment, invites, prekeys, revocations: yes (an acknowledged
// envelope is never lost, a one-time prekey never handed out twice, a
// revocation never undone). Reads write nothing. An Ack only deletes mail
// its device already has: if a power loss undoes it, the relay delivers the
// items again and the client drops them as duplicates (PROTOCOL.md 5).
// Stamps and plugin calls run on the anchors' own connection.
bool NeedsSync(const v1::Request& req) {
  if (req.has_ack() || req.has_stamp() || req.has_plugin_call()) return false;
  return IsolationOf(req) != Isolation::kReadOnly;
}

// PRAGMA synchronous of the request loop's connection, set between
// transactions: FULL for a batch that needs it, NORMAL otherwise. In WAL
// mode a NORMAL commit appends its frames without an fsync; every FULL
// commit and every checkpoint syncs the whole WAL first, so what is durable
// is always a prefix of the commits, and a NORMAL commit is lost (only on a
// power loss or OS crash, never on a process crash) only together with
// every commit after it, none of which was FULL.
class SyncMode {
 public:
  explicit SyncMode(storage::Db& db) : db_(db) {}
  Status Use(bool full) {
    if (full_ == full) return Status::Ok();
    full_.reset();  // unknown until the pragma ran
    VIGIL_RETURN_IF_ERROR(RunCached(db_, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL"));
    full_ = full;
    return Status::Ok();
  }

 private:
  storage::Db& db_;
  std::optional<bool> full_ = true;  // Db::Open sets FULL
};

}  // namespace

Status Serve(RelayStore& store, const ServerOptions& options, const std::atomic<bool>& stop) {
  VIGIL_ASSIGN_OR_RETURN(RelayKeys keys, store.LoadKeys());
  net::PrepareProcess();
  net::Context ctx;

  // The ZAP handler must be bound before the ROUTER binds: without it a
  // CURVE server admits any key.
  VIGIL_ASSIGN_OR_RETURN(auto zap, net::ZapHandler::Bind(ctx));
  VIGIL_ASSIGN_OR_RETURN(RelayStore zap_store, RelayStore::OpenWithKey(options.data_dir, store.store_key()));
  std::atomic<bool> zap_stop{false};
  std::atomic<int> connections{0};
  std::thread zap_thread([&] { RunZap(*zap, zap_store, zap_stop, connections, options.max_connections); });
  struct Joiner {
    std::atomic<bool>& flag;
    std::thread& t;
    ~Joiner() { flag = true; if (t.joinable()) t.join(); }
  } joiner{zap_stop, zap_thread};

  VIGIL_ASSIGN_OR_RETURN(RelayStore checkpoint_store,
                         RelayStore::OpenWithKey(options.data_dir, store.store_key()));
  VIGIL_RETURN_IF_ERROR(store.db().Exec("PRAGMA wal_autocheckpoint = 10000"));
  std::atomic<bool> checkpoint_stop{false};
  std::thread checkpoint_thread([&] { RunCheckpointer(checkpoint_store, checkpoint_stop); });
  Joiner checkpoint_joiner{checkpoint_stop, checkpoint_thread};

  auto sock_or = net::ServerSocket::Bind(ctx, keys.listen, keys.transport_secret);
  if (!sock_or.ok()) return sock_or.status();
  auto sock = std::move(sock_or).value();
  log::Info("listening", {{"endpoint", sock->endpoint()},
                          {"relay", crypto::Fingerprint("vigil/relay", keys.transport_public)}});

  log::Debug("settings", {{"retention_s", std::to_string(options.retention_ms / 1000)},
                          {"mailbox_quota_mb", std::to_string(options.mailbox_quota_bytes >> 20)},
                          {"rate_limit_per_s", std::to_string(static_cast<int64_t>(options.rate_limit_per_s))},
                          {"min_free_disk_mb", std::to_string(options.min_free_disk_bytes >> 20)},
                          {"max_connections", std::to_string(options.max_connections)}});
  Handler handler(store, keys, options);
  SyncMode sync_mode(store.db());

  // Timestamp anchors run on their own thread; a missing or broken plugin
  // never stops the relay from serving mail.
  std::unique_ptr<Anchors> anchors;
  if (!options.plugin_dir.empty()) {
    AnchorOptions ao;
    ao.plugin_dir = options.plugin_dir;
    ao.data_dir = options.data_dir;
    ao.call_timeout_ms = options.plugin_timeout_ms;
    auto a = Anchors::Start(ao, store.store_key(), keys);
    if (!a.ok()) {
      log::Warn("anchors_unavailable", {{"error", a.status().message()}});
    } else {
      anchors = std::move(*a);
    }
  }
  {
    std::string published;
    if (anchors) {
      for (const auto& info : anchors->Infos()) {
        std::string name = info.name.empty() ? info.file.substr(info.file.rfind('/') + 1) : info.name;
        published += name + "\t" + (info.ok ? "ok" : "unusable") + "\t" + info.problem + "\n";
      }
      handler.set_anchor_names(anchors->names());
    }
    store.SetRuntimeText("plugins", published).IgnoreError();
  }
  std::map<Bytes, Bytes> routes;  // device id -> routing id, for push notices only

  int64_t next_purge = 0, next_heartbeat = 0;
  std::map<Bytes, int64_t> last_seen;  // device id -> last request time
  store.SetRuntime("started_at_ms", NowMs()).IgnoreError();
  while (!stop.load()) {
    // Publish liveness and connection figures for `vigil-relay status`.
    if (int64_t now = NowMs(); now >= next_heartbeat) {
      next_heartbeat = now + 2000;
      int64_t connected = 0;
      for (auto it = last_seen.begin(); it != last_seen.end();) {
        if (now - it->second > 60000) {
          it = last_seen.erase(it);
        } else {
          ++connected;
          ++it;
        }
      }
      // One transaction, not synced by itself (the next synced commit or
      // checkpoint carries it), for the three figures. Failures are
      // ignored: these are status figures, and a store that cannot commit
      // stops the relay at its next batch.
      if (auto txn = sync_mode.Use(false).ok() ? storage::Txn::Begin(store.db())
                                               : StatusOr<storage::Txn>(Status::Internal("synchronous"));
          txn.ok()) {
        store.SetRuntime("heartbeat_ms", now).IgnoreError();
        store.SetRuntime("connected_devices", connected).IgnoreError();
        store.SetRuntime("open_connections", sock->connections().load()).IgnoreError();
        txn->Commit().IgnoreError();
      }
    }
    // Retention cap: nothing stays longer than the configured time, acked or not.
    if (int64_t now = NowMs(); now >= next_purge) {
      next_purge = now + options.purge_interval_ms;
      auto purged = store.PurgeOlderThan(now - options.retention_ms);
      if (!purged.ok()) {
        log::Warn("purge_failed", {{"error", purged.status().message()}});
      } else if (*purged > 0) {
        log::Info("purged", {{"items", std::to_string(*purged)}});
      }
    }
    // Answers from the timestamp anchors, as they finish.
    if (anchors) {
      for (auto& d : anchors->TakeDone()) {
        Status s = sock->Send(d.routing_id, wire::EncodeResponse(d.response));
        if (!s.ok()) log::Debug("response_dropped", {{"error", s.message()}});
      }
    }
    VIGIL_ASSIGN_OR_RETURN(bool ready, sock->Poll(anchors && anchors->Outstanding() > 0 ? 5 : 250));
    connections.store(sock->connections().load());
    if (!ready) continue;
    std::vector<net::Incoming> batch;
    while (static_cast<int>(batch.size()) < options.max_batch) {
      VIGIL_ASSIGN_OR_RETURN(auto in, sock->TryReceive());
      if (!in) break;
      batch.push_back(std::move(*in));
    }
    if (batch.empty()) continue;

    // Decoded before the batch begins, so that its durability is known.
    std::vector<StatusOr<v1::Request>> requests;
    requests.reserve(batch.size());
    bool must_sync = false;
    for (const auto& in : batch) {
      if (in.frames != 1) {
        requests.emplace_back(Status::InvalidArgument("a request is exactly one frame"));
        continue;
      }
      requests.push_back(wire::DecodeRequest(in.body));
      if (requests.back().ok() && NeedsSync(*requests.back())) must_sync = true;
    }

    std::vector<Pending> out;
    std::vector<Bytes> notify;
    Status sync_set = sync_mode.Use(must_sync);
    if (!sync_set.ok()) log::Error("synchronous_not_set", {{"error", sync_set.message()}});
    auto txn_or = sync_set.ok() ? storage::Txn::Begin(store.db()) : StatusOr<storage::Txn>(sync_set);
    if (!txn_or.ok()) {
      // The store is locked by an admin command beyond the busy timeout:
      // answer "busy" and keep serving.
      for (auto& in : batch) {
        Pending p{in.routing_id, {}};
        p.response.set_version(wire::kProtocolVersion);
        wire::SetError(&p.response, Status::Unavailable("relay is busy; try again"));
        out.push_back(std::move(p));
      }
    } else {
      // Set when the batch cannot be committed: SQLite rolled it back by
      // itself in the middle of a request (disk full while spilling its
      // page cache, an I/O error), or a kChecksFirst request failed after
      // changing rows. Nothing of this batch is stored; the rest is not run.
      Status aborted;
      bool rolled_back_by_sqlite = false;
      const Status kTryAgain = Status::Unavailable("the relay could not store this request; try again");
      // Principals resolved in this batch, by ZAP User-Id: nothing can
      // revoke a device while the batch holds the write lock.
      std::map<std::string, Principal> principals;
      handler.StartBatch();
      for (size_t i = 0; i < batch.size(); ++i) {
        const net::Incoming& in = batch[i];
        StatusOr<v1::Request>& req = requests[i];
        Pending p{in.routing_id, {}};
        p.response.set_version(wire::kProtocolVersion);
        Status st;
        if (!req.ok()) {
          st = req.status();
        } else if (p.response.set_request_id(req->request_id()); !aborted.ok()) {
          st = aborted.code() == Code::kResourceExhausted ? aborted : kTryAgain;
        } else {
          const Principal* who = nullptr;
          if (auto known = principals.find(in.user_id); known != principals.end()) {
            who = &known->second;
          } else if (auto resolved = handler.Resolve(in.user_id); !resolved.ok()) {
            st = resolved.status();
          } else {
            who = &principals.emplace(in.user_id, std::move(*resolved)).first->second;
          }
          if (who != nullptr) {
            if (who->kind == Principal::kDevice) {
              routes[who->device.id] = in.routing_id;
              last_seen[who->device.id] = NowMs();
            }
            bool for_anchors = req->has_stamp() || req->has_plugin_call();
            if (for_anchors) {
              // Off the ROUTER thread: the answer is sent when it is ready.
              if (who->kind != Principal::kDevice) {
                st = Status::PermissionDenied("this device is not enrolled or has been revoked");
              } else if (!handler.Admit(who->device.id)) {
                st = Status::ResourceExhausted("too many requests from this device; slow down and retry");
              } else if (!anchors || anchors->names().empty()) {
                st = Status::Unavailable("this relay hosts no timestamp plugins");
              } else if (!anchors->Submit({in.routing_id, *req})) {
                st = Status::Unavailable("the relay's timestamp queue is full; try again later");
              } else {
                continue;  // deferred
              }
            } else {
              const Isolation isolation = IsolationOf(*req);
              const bool savepoint = isolation == Isolation::kSavepoint;
              if (savepoint) (void)RunCached(store.db(), "SAVEPOINT req");
              const int64_t changes_before = store.db().TotalChanges();
              size_t notify_mark = notify.size();
              st = handler.Handle(*who, *req, &p.response, &notify);
              if (st.ok()) {
                if (savepoint) (void)RunCached(store.db(), "RELEASE req");
              } else {
                notify.resize(notify_mark);
                if (!store.db().InTransaction()) {
                  aborted = st;
                  rolled_back_by_sqlite = true;
                } else if (savepoint) {
                  (void)RunCached(store.db(), "ROLLBACK TO req");
                  (void)RunCached(store.db(), "RELEASE req");
                } else if (store.db().TotalChanges() != changes_before) {
                  log::Error("batch_rolled_back", {{"error", st.message()}});
                  aborted = st;
                }
              }
            }
          }
        }
        if (!st.ok()) {
          log::Info("request_refused", {{"error", st.message()}});
          wire::SetError(&p.response, st);
        }
        out.push_back(std::move(p));
      }
      Status commit = aborted.ok() ? txn_or->Commit() : aborted;
      if (!commit.ok()) {
        if (!aborted.ok() && !rolled_back_by_sqlite && commit.code() != Code::kResourceExhausted) {
          // A request failed half-way on something other than a full disk;
          // the batch is rolled back (Txn's destructor) and may be retried.
          for (auto& p : out) {
            if (!p.response.has_error()) wire::SetError(&p.response, kTryAgain);
          }
          notify.clear();
        } else if (commit.code() == Code::kResourceExhausted) {
          log::Error("disk_full", {{"error", commit.message()}});
          for (auto& p : out) {
            if (!p.response.has_error()) {
              wire::SetError(&p.response,
                             Status::ResourceExhausted(
                                 "relay disk is full; nothing was stored or deleted, try later"));
            }
          }
          notify.clear();
        } else {
          // No response leaves for a batch that may not be durable.
          log::Error("commit_failed", {{"error", commit.message()}});
          return commit.WithContext("cannot commit to the relay store; stopping");
        }
      }
    }
    for (auto& p : out) {
      Bytes body = wire::EncodeResponse(p.response);
      Status s = sock->Send(p.routing_id, body);
      if (!s.ok()) log::Debug("response_dropped", {{"error", s.message()}});
    }
    if (!notify.empty()) {
      std::sort(notify.begin(), notify.end());
      notify.erase(std::unique(notify.begin(), notify.end()), notify.end());
      for (const auto& dev : notify) {
        auto r = routes.find(dev);
        if (r == routes.end()) continue;
        v1::Response n;
        n.set_version(wire::kProtocolVersion);
        n.set_request_id(0);
        n.mutable_notice()->set_latest_seq(0);
        if (!sock->Send(r->second, wire::EncodeResponse(n)).ok()) routes.erase(r);
      }
    }
  }
  store.SetRuntime("heartbeat_ms", 0).IgnoreError();  // not running
  log::Info("stopping", {{"reason", "signal"}});
  ctx.Shutdown();
  return Status::Ok();
}

}  // namespace vigil::relay
