// A member's devices: linking a new device with a one-time code (journey 4),
// listing and revoking devices. Protocol: docs/PROTOCOL.md section 11.
//
// The old device makes a link secret S and an ephemeral X25519 key; the
// relay only learns the transport key and verifier derived from S. The new
// device proves knowledge of S with a MAC over its keys (the relay cannot
// forge it), both show the same short authentication string, the old device
// certifies the new one with the member's identity key and sends it an
// archive of everything it holds, encrypted under a key only the two
// devices can derive.
#include <algorithm>

#include "client/lib/client.h"
#include "client/lib/directory.h"
#include "client/lib/store_util.h"
#include "vigil/identity.h"
#include "vigil/log.h"
#include "vigil/wire.h"

namespace vigil::client {
namespace {

namespace v1 = wire::v1;
namespace sv1 = store::v1;

constexpr std::string_view kRequestPrefix = "vigil-link-request-1\n";
constexpr std::string_view kGrantPrefix = "vigil-link-grant-1\n";
constexpr size_t kGrantPartSize = 1024 * 1024;

StatusOr<crypto::SecretBytes> MacKey(const crypto::SecretBytes& secret) {
  return crypto::Hkdf({}, secret.span(), AsBytes("vigil/link-mac/v1"), 32);
}

Bytes MacInput(const sv1::LinkRequest& r) {
  Bytes in;
  for (const std::string* f : {&r.link_id(), &r.device_id(), &r.signing_public_key(), &r.dh_public_key(),
                               &r.ephemeral_public_key()}) {
    in.insert(in.end(), f->begin(), f->end());
  }
  return in;
}

StatusOr<crypto::SecretBytes> ArchiveKey(const crypto::SecretBytes& secret, const crypto::SecretBytes& my_eph,
                                         ByteSpan peer_eph) {
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes shared, crypto::X25519(my_eph, peer_eph));
  return crypto::Hkdf(secret.span(), shared.span(), AsBytes("vigil/link-archive-key/v1"), 32);
}

Bytes ArchiveAad(ByteSpan link_id) { return identity::SignedBytes("vigil/link-archive/v1", link_id); }

// Six digits both devices show: HKDF(S, e_old || e_new).
StatusOr<std::string> ShortAuthString(const crypto::SecretBytes& secret, ByteSpan old_eph, ByteSpan new_eph) {
  Bytes info = ToBytes("vigil/link-sas/v1");
  info.insert(info.end(), old_eph.begin(), old_eph.end());
  info.insert(info.end(), new_eph.begin(), new_eph.end());
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes out, crypto::Hkdf({}, secret.span(), info, 4));
  uint32_t n = (uint32_t(out.data()[0]) << 24) | (uint32_t(out.data()[1]) << 16) | (uint32_t(out.data()[2]) << 8) |
               out.data()[3];
  char buf[16];
  snprintf(buf, sizeof buf, "%03u %03u", (n % 1000000) / 1000, n % 1000);
  return std::string(buf);
}

// A link code is good for 10 minutes (as the relay enforces); the device
// that made it answers a request for it until an hour after that.
constexpr int64_t kLinkCodeLifetimeMs = 10 * 60 * 1000;
constexpr int64_t kLinkAnswerGraceMs = 60 * 60 * 1000;

bool HasPrefix(const std::string& blob, std::string_view prefix) {
  return blob.size() > prefix.size() && std::string_view(blob).substr(0, prefix.size()) == prefix;
}

}  // namespace

StatusOr<std::string> Client::CreateLinkCode() {
  VIGIL_RETURN_IF_ERROR(MyName().status());
  VIGIL_ASSIGN_OR_RETURN(auto pending, GetConfig(db_, "link_pending"));
  if (pending) return Status::FailedPrecondition("this device is itself still being linked; sync it first");
  VIGIL_ASSIGN_OR_RETURN(net::ClientConnection * conn, Connection());
  identity::LinkCode code;
  code.secret = crypto::SecretBytes::Random(32);
  crypto::DhKeyPair eph = crypto::GenerateDhKeyPair();
  code.ephemeral_public_key = eph.public_key;
  VIGIL_ASSIGN_OR_RETURN(crypto::DhKeyPair tk, identity::InviteTransportKey(code.secret));
  v1::Request req;
  req.mutable_create_link()->set_transport_key(ToString(tk.public_key));
  req.mutable_create_link()->set_verifier(ToString(identity::InviteVerifier(code.secret)));
  VIGIL_ASSIGN_OR_RETURN(v1::Response resp, CallRelay(conn, req, timeout_ms_));
  VIGIL_ASSIGN_OR_RETURN(auto ep, RequireConfig(db_, "relay_endpoint"));
  VIGIL_ASSIGN_OR_RETURN(auto rp, RequireConfig(db_, "relay_public"));
  code.endpoint = ToString(ep.span());
  code.relay_public_key = ToPublic(rp);
  // The relay's expiry, but never later than our own clock allows: the
  // code's secrets must not outlive it because the relay said so.
  const int64_t expires_at = std::min<int64_t>(resp.create_link().expires_at_ms(), NowMs() + kLinkCodeLifetimeMs);
  VIGIL_ASSIGN_OR_RETURN(auto ins, db_.Prepare(
      "INSERT INTO pending_links(link_id, secret, eph_secret, eph_public, expires_at) VALUES(?,?,?,?,?)"));
  ins.BindBlob(1, AsBytes(resp.create_link().link_id())).BindBlob(2, code.secret.span())
      .BindBlob(3, eph.secret_key.span()).BindBlob(4, eph.public_key).Bind(5, expires_at);
  VIGIL_RETURN_IF_ERROR(ins.Run());
  return identity::EncodeLink(code);
}

StatusOr<std::string> Client::JoinLink(std::string_view text) {
  VIGIL_ASSIGN_OR_RETURN(auto existing, GetConfig(db_, "relay_endpoint"));
  if (existing) return Status::AlreadyExists("this device has already joined a relay");
  VIGIL_ASSIGN_OR_RETURN(identity::LinkCode code, identity::DecodeLink(text));
  VIGIL_ASSIGN_OR_RETURN(const Keys* k_keys, LoadKeys());
  const Keys& k = *k_keys;
  VIGIL_ASSIGN_OR_RETURN(crypto::DhKeyPair link_key, identity::InviteTransportKey(code.secret));
  crypto::DhKeyPair eph = crypto::GenerateDhKeyPair();

  sv1::LinkRequest lr;
  lr.set_version(1);
  lr.set_device_id(ToString(k.device_id));
  lr.set_signing_public_key(ToString(k.signing_public));
  lr.set_dh_public_key(ToString(k.dh_public));
  lr.set_ephemeral_public_key(ToString(eph.public_key));

  if (!ctx_) ctx_ = std::make_unique<net::Context>();
  VIGIL_ASSIGN_OR_RETURN(auto conn, net::ClientConnection::Connect(*ctx_, code.endpoint, code.relay_public_key,
                                                                   link_key.public_key, link_key.secret_key));
  // The MAC binds our keys to the link secret (one secret per link); the
  // relay never sees the secret, so it cannot forge a request.
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes mac_key, MacKey(code.secret));
  lr.set_mac(ToString(crypto::HmacSha256(mac_key.span(), MacInput(lr)).span()));
  v1::Request req;
  auto* l = req.mutable_link_device();
  l->set_device_id(ToString(k.device_id));
  l->set_device_transport_key(ToString(k.transport_public));
  l->set_request(std::string(kRequestPrefix) + lr.SerializeAsString());
  auto resp = conn->Call(req, timeout_ms_);
  conn.reset();
  if (!resp.ok()) {
    if (resp.status().code() == Code::kUnavailable) {
      return Status::Unavailable(
          "the relay did not accept this link code: it may be used or expired (10 minutes), or the relay is "
          "not running; make a new code on your other device");
    }
    return resp.status();
  }
  const auto& lresp = resp->link_device();
  VIGIL_ASSIGN_OR_RETURN(std::string sas, ShortAuthString(code.secret, code.ephemeral_public_key, eph.public_key));
  VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "relay_endpoint", AsBytes(code.endpoint)));
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "relay_public", code.relay_public_key));
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "relay_signing_public", AsBytes(lresp.relay_signing_public_key())));
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "name", AsBytes(lresp.name())));
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "role", AsBytes(lresp.role())));
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "link_pending", AsBytes(lresp.link_id())));
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "link_secret", code.secret.span()));
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "link_eph_secret", eph.secret_key.span()));
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "link_peer_eph", code.ephemeral_public_key));
  // The member's identity, as the relay states it; the archive from the
  // other device must match it (it carries the identity secret).
  VIGIL_RETURN_IF_ERROR(PutConfig(db_, "link_identity", AsBytes(lresp.identity_public_key())));
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare(
      "INSERT OR REPLACE INTO contacts(name, role, identity_key, first_seen) VALUES(?,?,?,?)"));
  st.Bind(1, lresp.name()).Bind(2, lresp.role()).BindBlob(3, AsBytes(lresp.identity_public_key())).Bind(4, NowMs());
  VIGIL_RETURN_IF_ERROR(st.Run());
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  // Prekeys now, so that the team can reach this device the moment the
  // other device certifies it.
  auto own = Connection();
  Status pk = own.ok() ? MaintainPrekeys(*own) : own.status();
  if (!pk.ok()) log::Warn("prekeys_not_published", {{"error", pk.message()}});
  return sas;
}

Status Client::ReceiveLinkBlob(const std::string& blob, ByteSpan from_device, ByteSpan message_id, bool* handled) {
  *handled = false;
  if (HasPrefix(blob, kRequestPrefix)) {
    *handled = true;
    // Kept only if this device made the link; others of the member ignore it.
    VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT 1 FROM pending_links WHERE link_id = ?"));
    st.BindBlob(1, message_id);
    VIGIL_ASSIGN_OR_RETURN(bool mine, st.Step());
    if (!mine) return Status::Ok();
    VIGIL_ASSIGN_OR_RETURN(auto ins, db_.Prepare(
        "INSERT OR REPLACE INTO link_requests(link_id, device_id, request) VALUES(?,?,?)"));
    ins.BindBlob(1, message_id).BindBlob(2, from_device).BindBlob(3, AsBytes(blob.substr(kRequestPrefix.size())));
    return ins.Run();
  }
  if (HasPrefix(blob, kGrantPrefix)) {
    *handled = true;
    VIGIL_ASSIGN_OR_RETURN(auto pending, GetConfig(db_, "link_pending"));
    if (!pending) return Status::Ok();
    sv1::LinkGrant g;
    std::string_view body = std::string_view(blob).substr(kGrantPrefix.size());
    if (!g.ParseFromArray(body.data(), static_cast<int>(body.size())) || g.version() != 1 ||
        g.link_id() != ToString(pending->span()) || g.parts() == 0 || g.parts() > 256 || g.part() >= g.parts() ||
        g.nonce().size() != crypto::kAeadNonceSize) {
      return Status::Ok();  // not ours, or malformed: the AEAD decides later anyway
    }
    VIGIL_ASSIGN_OR_RETURN(auto ins, db_.Prepare(
        "INSERT OR REPLACE INTO link_parts(part, parts, nonce, data) VALUES(?,?,?,?)"));
    ins.Bind(1, static_cast<int64_t>(g.part())).Bind(2, static_cast<int64_t>(g.parts()))
        .BindBlob(3, AsBytes(g.nonce())).BindBlob(4, AsBytes(g.ciphertext()));
    return ins.Run();
  }
  return Status::Ok();
}

Status Client::AnswerLinkRequests(SyncResult* result) {
  // A link code's secrets are kept until its request is answered, or until
  // an hour after the code expired (this device may sync late); then they
  // are forgotten, and a request that comes for them is not certified.
  {
    VIGIL_ASSIGN_OR_RETURN(auto purge, db_.Prepare("DELETE FROM pending_links WHERE expires_at < ?"));
    purge.Bind(1, NowMs() - kLinkAnswerGraceMs);
    VIGIL_RETURN_IF_ERROR(purge.Run());
  }
  struct Row {
    Bytes link_id, device_id, request;
  };
  std::vector<Row> rows;
  {
    VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT link_id, device_id, request FROM link_requests"));
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      rows.push_back({st.ColumnBlob(0), st.ColumnBlob(1), st.ColumnBlob(2)});
    }
  }
  if (rows.empty()) return Status::Ok();
  VIGIL_ASSIGN_OR_RETURN(const Keys* k_keys, LoadKeys());
  const Keys& k = *k_keys;
  VIGIL_ASSIGN_OR_RETURN(net::ClientConnection * conn, Connection());
  for (const auto& r : rows) {
    auto forget = [&]() -> Status {
      VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
      for (const char* sql : {"DELETE FROM link_requests WHERE link_id = ?", "DELETE FROM pending_links WHERE link_id = ?"}) {
        VIGIL_ASSIGN_OR_RETURN(auto del, db_.Prepare(sql));
        del.BindBlob(1, r.link_id);
        VIGIL_RETURN_IF_ERROR(del.Run());
      }
      return txn.Commit();
    };
    VIGIL_ASSIGN_OR_RETURN(auto pl, db_.Prepare("SELECT secret, eph_secret, eph_public FROM pending_links WHERE link_id = ?"));
    pl.BindBlob(1, r.link_id);
    VIGIL_ASSIGN_OR_RETURN(bool have, pl.Step());
    if (!have) {
      result->problems.push_back("a device link request came after its link code expired; the device was not "
                                 "linked (run `vigil device link` again)");
      VIGIL_RETURN_IF_ERROR(forget());
      continue;
    }
    crypto::SecretBytes secret = pl.ColumnSecret(0), eph_secret = pl.ColumnSecret(1);
    Bytes eph_public = pl.ColumnBlob(2);
    sv1::LinkRequest lr;
    bool ok = lr.ParseFromArray(r.request.data(), static_cast<int>(r.request.size())) && lr.version() == 1 &&
              lr.device_id() == ToString(r.device_id) && lr.signing_public_key().size() == 32 &&
              lr.dh_public_key().size() == 32 && lr.ephemeral_public_key().size() == 32 && lr.mac().size() == 32;
    if (ok) {
      VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes mac_key, MacKey(secret));
      std::string mac = lr.mac();
      lr.clear_mac();
      ok = crypto::ConstantTimeEqual(crypto::HmacSha256(mac_key.span(), MacInput(lr)).span(), AsBytes(mac));
    }
    if (!ok) {
      // Not made with our code: the relay (or someone with the relay's
      // help) tried to slip in a device. Never certified.
      result->problems.push_back("refused a device link request that does not prove knowledge of the link code "
                                 "(device " + HexEncode(r.device_id).substr(0, 8) + ")");
      VIGIL_RETURN_IF_ERROR(forget());
      continue;
    }
    // Certify the new device with the member's identity key.
    VIGIL_ASSIGN_OR_RETURN(v1::DirectoryDevice dd,
                           identity::CertifyDevice(k.identity_secret, k.identity_public, r.device_id,
                                                   AsBytes(lr.signing_public_key()), AsBytes(lr.dh_public_key()),
                                                   NowMs()));
    v1::Request creq;
    *creq.mutable_certify_device()->mutable_device() = dd;
    auto cresp = CallRelay(conn, creq, timeout_ms_);
    if (!cresp.ok()) {
      if (cresp.status().code() == Code::kUnavailable) return cresp.status();
      result->problems.push_back("could not certify the new device: " + cresp.status().message());
      VIGIL_RETURN_IF_ERROR(forget());
      continue;
    }
    // The archive: everything this device holds, verbatim.
    sv1::LinkArchive a;
    a.set_version(1);
    a.set_identity_secret_key(ToString(k.identity_secret.span()));
    a.set_certificate(dd.certificate());
    a.set_certificate_signature(dd.certificate_signature());
    {
      VIGIL_ASSIGN_OR_RETURN(auto ms, db_.Prepare("SELECT name, role, identity_key FROM contacts ORDER BY name"));
      VIGIL_ASSIGN_OR_RETURN(std::string me, MyName());
      for (;;) {
        VIGIL_ASSIGN_OR_RETURN(bool row, ms.Step());
        if (!row) break;
        v1::DirectoryMember m;
        m.set_name(ms.ColumnText(0));
        m.set_role(ms.ColumnText(1));
        m.set_identity_public_key(ToString(ms.ColumnBlob(2)));
        VIGIL_ASSIGN_OR_RETURN(auto ds, db_.Prepare(
            "SELECT device_id, certificate, certificate_signature FROM contact_devices WHERE name = ?"));
        ds.Bind(1, m.name());
        for (;;) {
          VIGIL_ASSIGN_OR_RETURN(bool drow, ds.Step());
          if (!drow) break;
          auto* d = m.add_devices();
          d->set_device_id(ToString(ds.ColumnBlob(0)));
          d->set_certificate(ToString(ds.ColumnBlob(1)));
          d->set_certificate_signature(ToString(ds.ColumnBlob(2)));
        }
        if (m.name() == me) {
          // This device's own certificate (a fresh one, equally valid).
          VIGIL_ASSIGN_OR_RETURN(auto own, identity::CertifyDevice(k.identity_secret, k.identity_public, k.device_id,
                                                                   k.signing_public, k.dh_public, NowMs()));
          *m.add_devices() = own;
        }
        a.add_members(m.SerializeAsString());
      }
    }
    {
      VIGIL_ASSIGN_OR_RETURN(auto es, db_.Prepare(
          "SELECT body, signature, signer_device FROM visit_events WHERE status != 'rejected' ORDER BY created_at"));
      for (;;) {
        VIGIL_ASSIGN_OR_RETURN(bool row, es.Step());
        if (!row) break;
        auto* o = a.add_visit_events();
        o->set_body(ToString(es.ColumnBlob(0)));
        o->set_signature(ToString(es.ColumnBlob(1)));
        o->set_signer_device_id(ToString(es.ColumnBlob(2)));
      }
      VIGIL_ASSIGN_OR_RETURN(auto ns, db_.Prepare(
          "SELECT body, signature, author_device FROM note_versions WHERE status != 'rejected' "
          "ORDER BY author_device, device_seq"));
      for (;;) {
        VIGIL_ASSIGN_OR_RETURN(bool row, ns.Step());
        if (!row) break;
        auto* o = a.add_note_versions();
        o->set_body(ToString(ns.ColumnBlob(0)));
        o->set_signature(ToString(ns.ColumnBlob(1)));
        o->set_signer_device_id(ToString(ns.ColumnBlob(2)));
      }
      VIGIL_ASSIGN_OR_RETURN(auto as, db_.Prepare(
          "SELECT version_hash, source, plugin, token, trust_anchor FROM anchors WHERE status = 'ok'"));
      for (;;) {
        VIGIL_ASSIGN_OR_RETURN(bool row, as.Step());
        if (!row) break;
        auto* o = a.add_anchors();
        o->set_version(1);
        o->set_version_hash(ToString(as.ColumnBlob(0)));
        o->set_source(as.ColumnText(1));
        o->set_plugin(as.ColumnText(2));
        o->set_token(ToString(as.ColumnBlob(3)));
        o->set_trust_anchor(ToString(as.ColumnBlob(4)));
      }
      VIGIL_ASSIGN_OR_RETURN(auto mg, db_.Prepare(
          "SELECT message_id, direction, peer, peer_device, sent_at, received_at, body FROM messages"));
      for (;;) {
        VIGIL_ASSIGN_OR_RETURN(bool row, mg.Step());
        if (!row) break;
        auto* o = a.add_messages();
        o->set_message_id(ToString(mg.ColumnBlob(0)));
        o->set_direction(mg.ColumnText(1));
        o->set_peer(mg.ColumnText(2));
        o->set_peer_device(ToString(mg.ColumnBlob(3)));
        o->set_sent_at_ms(mg.ColumnInt64(4));
        o->set_received_at_ms(mg.ColumnIsNull(5) ? 0 : mg.ColumnInt64(5));
        o->set_body(ToString(mg.ColumnBlob(6)));
      }
      VIGIL_ASSIGN_OR_RETURN(auto ts, db_.Prepare("SELECT url, ca_pem FROM tsas"));
      for (;;) {
        VIGIL_ASSIGN_OR_RETURN(bool row, ts.Step());
        if (!row) break;
        auto* o = a.add_tsas();
        o->set_url(ts.ColumnText(0));
        o->set_ca_pem(ToString(ts.ColumnBlob(1)));
      }
      VIGIL_ASSIGN_OR_RETURN(auto cp, GetConfig(db_, "log_checkpoint"));
      if (cp) a.set_log_checkpoint(ToString(cp->span()));
    }
    std::string plain = a.SerializeAsString();
    crypto::Wipe(*a.mutable_identity_secret_key());
    VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes key, ArchiveKey(secret, eph_secret, AsBytes(lr.ephemeral_public_key())));
    Bytes nonce = crypto::RandomBytes(crypto::kAeadNonceSize);
    auto sealed = crypto::AeadSeal(key, nonce, ArchiveAad(r.link_id), AsBytes(plain));
    crypto::Wipe(plain);
    VIGIL_RETURN_IF_ERROR(sealed.status());
    uint32_t parts = static_cast<uint32_t>(std::max<size_t>(1, (sealed->size() + kGrantPartSize - 1) / kGrantPartSize));
    if (parts > 256) {
      result->problems.push_back("this device holds too much to link in one go (over 256 MiB)");
      VIGIL_RETURN_IF_ERROR(forget());
      continue;
    }
    for (uint32_t i = 0; i < parts; ++i) {
      sv1::LinkGrant g;
      g.set_version(1);
      g.set_link_id(ToString(r.link_id));
      g.set_part(i);
      g.set_parts(parts);
      g.set_nonce(ToString(nonce));
      size_t off = static_cast<size_t>(i) * kGrantPartSize;
      g.set_ciphertext(std::string(reinterpret_cast<const char*>(sealed->data()) + off,
                                   std::min(kGrantPartSize, sealed->size() - off)));
      v1::Request sreq;
      sreq.mutable_send()->set_message_id(ToString(crypto::RandomBytes(16)));
      auto* d = sreq.mutable_send()->add_deliveries();
      d->set_device_id(ToString(r.device_id));
      d->set_blob(std::string(kGrantPrefix) + g.SerializeAsString());
      VIGIL_RETURN_IF_ERROR(CallRelay(conn, sreq, timeout_ms_).status());
    }
    VIGIL_ASSIGN_OR_RETURN(std::string sas, ShortAuthString(secret, eph_public, AsBytes(lr.ephemeral_public_key())));
    result->notices.push_back("linked a new device " + HexEncode(r.device_id).substr(0, 8) +
                              "; check that it shows the same code: " + sas);
    log::Info("device_linked", {{"device", HexEncode(r.device_id).substr(0, 8)}});
    VIGIL_RETURN_IF_ERROR(forget());
  }
  return Status::Ok();
}

Status Client::ImportLinkArchive(SyncResult* result) {
  VIGIL_ASSIGN_OR_RETURN(auto pending, GetConfig(db_, "link_pending"));
  if (!pending) return Status::Ok();
  std::vector<Bytes> parts;
  Bytes nonce;
  {
    VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT part, parts, nonce, data FROM link_parts ORDER BY part"));
    int64_t expect = -1;
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      if (expect < 0) expect = st.ColumnInt64(1);
      if (st.ColumnInt64(0) != static_cast<int64_t>(parts.size()) || st.ColumnInt64(1) != expect) break;
      nonce = st.ColumnBlob(2);
      parts.push_back(st.ColumnBlob(3));
    }
    if (parts.empty() || static_cast<int64_t>(parts.size()) != expect) {
      result->notices.push_back("waiting for the other device to confirm the link (sync it, then sync here)");
      return Status::Ok();
    }
  }
  Bytes sealed;
  for (const auto& p : parts) sealed.insert(sealed.end(), p.begin(), p.end());
  VIGIL_ASSIGN_OR_RETURN(auto secret, RequireConfig(db_, "link_secret"));
  VIGIL_ASSIGN_OR_RETURN(auto eph, RequireConfig(db_, "link_eph_secret"));
  VIGIL_ASSIGN_OR_RETURN(auto peer, RequireConfig(db_, "link_peer_eph"));
  VIGIL_ASSIGN_OR_RETURN(auto identity_pub, RequireConfig(db_, "link_identity"));
  VIGIL_ASSIGN_OR_RETURN(crypto::SecretBytes key, ArchiveKey(secret, eph, peer.span()));
  auto plain = crypto::AeadOpen(key, nonce, ArchiveAad(pending->span()), sealed);
  if (!plain.ok()) {
    VIGIL_RETURN_IF_ERROR(db_.Exec("DELETE FROM link_parts"));
    return Status::Unauthenticated("the link archive does not decrypt (not from the device that made the code)");
  }
  sv1::LinkArchive a;
  if (!a.ParseFromArray(plain->data(), static_cast<int>(plain->size())) || a.version() != 1 ||
      a.identity_secret_key().size() != crypto::kEd25519SecretKeySize) {
    return Status::DataLoss("the link archive is malformed");
  }
  crypto::SecretBytes identity_secret = crypto::SecretBytes::CopyOf(AsBytes(a.identity_secret_key()));
  crypto::Wipe(*a.mutable_identity_secret_key());
  VIGIL_ASSIGN_OR_RETURN(auto ipair, crypto::SigningKeyPairFromSecret(identity_secret));
  if (!crypto::ConstantTimeEqual(ipair.public_key, identity_pub.span())) {
    return Status::Unauthenticated("the link archive carries another identity than the relay named");
  }
  VIGIL_RETURN_IF_ERROR(LoadKeys().status());
  {
    VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
    VIGIL_RETURN_IF_ERROR(PutConfig(db_, "identity_public", ipair.public_key));
    VIGIL_RETURN_IF_ERROR(PutConfig(db_, "identity_secret", identity_secret.span()));
    keys_.reset();  // the member's identity replaces this device's own: read the keys again
    for (const auto& mb : a.members()) {
      v1::DirectoryMember m;
      if (!m.ParseFromString(mb)) continue;
      auto accepted = AcceptMember(db_, m);
      if (!accepted.ok()) result->problems.push_back("linking: " + accepted.status().message());
    }
    VIGIL_ASSIGN_OR_RETURN(std::string me, MyName());
    for (const auto& e : a.visit_events()) {
      Status s = ReceiveVisitEvent(e, me, result);
      if (!s.ok() && s.code() != Code::kAlreadyExists) return s;
    }
    for (const auto& n : a.note_versions()) {
      Status s = ReceiveNoteVersion(n, me, result);
      if (!s.ok() && s.code() != Code::kAlreadyExists) return s;
    }
    for (const auto& r : a.anchors()) {
      Status s = ReceiveAnchor(r, result);
      if (!s.ok() && s.code() != Code::kAlreadyExists) return s;
    }
    for (const auto& m : a.messages()) {
      VIGIL_ASSIGN_OR_RETURN(auto ins, db_.Prepare(
          "INSERT OR IGNORE INTO messages(message_id, direction, peer, peer_device, sent_at, received_at, body) "
          "VALUES(?,?,?,?,?,?,?)"));
      ins.BindBlob(1, AsBytes(m.message_id())).Bind(2, m.direction()).Bind(3, m.peer())
          .BindBlob(4, AsBytes(m.peer_device())).Bind(5, m.sent_at_ms()).Bind(6, m.received_at_ms())
          .BindBlob(7, AsBytes(m.body()));
      VIGIL_RETURN_IF_ERROR(ins.Run());
    }
    for (const auto& t : a.tsas()) {
      VIGIL_ASSIGN_OR_RETURN(auto ins, db_.Prepare("INSERT OR IGNORE INTO tsas(url, ca_pem, added_at) VALUES(?,?,?)"));
      ins.Bind(1, t.url()).BindBlob(2, AsBytes(t.ca_pem())).Bind(3, NowMs());
      VIGIL_RETURN_IF_ERROR(ins.Run());
    }
    if (!a.log_checkpoint().empty()) {
      VIGIL_RETURN_IF_ERROR(PutConfig(db_, "log_checkpoint", AsBytes(a.log_checkpoint())));
    }
    VIGIL_RETURN_IF_ERROR(db_.Exec(
        "DELETE FROM config WHERE key IN ('link_pending', 'link_secret', 'link_eph_secret', 'link_peer_eph', "
        "'link_identity'); DELETE FROM link_parts;"));
    VIGIL_RETURN_IF_ERROR(txn.Commit());
  }
  result->notices.push_back("this device is now linked: " + std::to_string(a.note_versions_size()) +
                            " note versions, " + std::to_string(a.visit_events_size()) + " visit events and " +
                            std::to_string(a.messages_size()) + " messages from the other device");
  return Status::Ok();
}

StatusOr<std::vector<DeviceInfo>> Client::ListDevices() {
  VIGIL_ASSIGN_OR_RETURN(std::string me, MyName());
  VIGIL_ASSIGN_OR_RETURN(const Keys* k_keys, LoadKeys());
  const Keys& k = *k_keys;
  std::vector<DeviceInfo> out;
  auto conn = Connection();
  if (conn.ok()) {
    v1::Request req;
    req.mutable_directory()->add_names(me);
    auto resp = CallRelay(*conn, req, timeout_ms_);
    if (resp.ok()) {
      VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
      for (const auto& m : resp->directory().members()) {
        if (m.name() != me) continue;
        VIGIL_ASSIGN_OR_RETURN(auto devices, AcceptMember(db_, m));
        for (const auto& d : m.devices()) {
          sv1::DeviceCertificate c;
          c.ParseFromString(d.certificate());
          DeviceInfo info;
          info.id = HexEncode(AsBytes(d.device_id()));
          info.current = ToBytes(d.device_id()) == k.device_id;
          info.created_at_ms = c.created_at_ms();
          info.fingerprint = crypto::Fingerprint("vigil/device-signing", AsBytes(c.signing_public_key()));
          out.push_back(std::move(info));
        }
      }
      VIGIL_RETURN_IF_ERROR(txn.Commit());
      return out;
    }
    if (resp.status().code() != Code::kUnavailable) return resp.status();
  }
  return Status::Unavailable("the relay is not reachable; the device list comes from the relay's directory");
}

Status Client::RevokeDevice(const std::string& id_or_prefix) {
  VIGIL_ASSIGN_OR_RETURN(auto devices, ListDevices());
  std::string want;
  for (char c : id_or_prefix) want += static_cast<char>(tolower(static_cast<unsigned char>(c)));
  const DeviceInfo* match = nullptr;
  for (const auto& d : devices) {
    if (want.size() >= 8 && d.id.compare(0, want.size(), want) == 0) {
      if (match) return Status::InvalidArgument("device id prefix " + id_or_prefix + " is ambiguous");
      match = &d;
    }
  }
  if (!match) return Status::NotFound("you have no device " + id_or_prefix + " (see vigil device list)");
  if (match->current) return Status::InvalidArgument("this is the device you are using; revoke it from another one");
  VIGIL_ASSIGN_OR_RETURN(net::ClientConnection * conn, Connection());
  v1::Request req;
  VIGIL_ASSIGN_OR_RETURN(Bytes id, HexDecode(match->id));
  req.mutable_revoke_device()->set_device_id(ToString(id));
  // Never encrypted to again: the directory no longer lists it, and
  // recipients always come from the directory. Its sessions are kept, like
  // its cached certificate: mail it sent before the revocation and that the
  // relay acknowledged is still on its way here and decrypts only with them
  // (the relay refuses anything it sends from now on).
  return CallRelay(conn, req, timeout_ms_).status();
}

StatusOr<std::vector<MemberInfo>> Client::ListMembers() {
  VIGIL_RETURN_IF_ERROR(MyName().status());
  auto conn = Connection();
  if (conn.ok()) {
    v1::Request req;
    req.mutable_directory()->set_all_members(true);
    auto resp = CallRelay(*conn, req, timeout_ms_);
    if (resp.ok()) {
      VIGIL_ASSIGN_OR_RETURN(auto txn, storage::Txn::Begin(db_));
      for (const auto& m : resp->directory().members()) {
        (void)AcceptMember(db_, m);  // a changed identity is recorded, never accepted
      }
      VIGIL_RETURN_IF_ERROR(txn.Commit());
    }
  }
  std::vector<MemberInfo> out;
  VIGIL_ASSIGN_OR_RETURN(auto st, db_.Prepare(
      "SELECT c.name, c.role, c.identity_key, c.verified_key, c.changed_key, "
      "(SELECT count(*) FROM contact_devices d WHERE d.name = c.name) FROM contacts c ORDER BY c.name"));
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    MemberInfo m;
    m.name = st.ColumnText(0);
    m.role = st.ColumnText(1);
    Bytes key = st.ColumnBlob(2);
    m.identity_fingerprint = crypto::Fingerprint("vigil/identity", key);
    m.verified = !st.ColumnIsNull(3) && crypto::ConstantTimeEqual(st.ColumnBlob(3), key);
    if (!st.ColumnIsNull(4)) {
      m.warning = std::string(m.verified ? "IDENTITY CHANGED for a VERIFIED member" : "IDENTITY CHANGED") +
                  ": the relay now shows key " + crypto::Fingerprint("vigil/identity", st.ColumnBlob(4)) +
                  "; this device still uses the one above and refuses the new one. Ask " + m.name +
                  " in person before trusting anything new.";
    }
    m.devices = static_cast<int>(st.ColumnInt64(5));
    out.push_back(std::move(m));
  }
  return out;
}

Status Client::VerifyMember(const std::string& name, const std::string& fingerprint) {
  VIGIL_ASSIGN_OR_RETURN(auto members, ListMembers());
  auto digits = [](const std::string& s) {
    std::string d;
    for (char c : s) {
      if (isdigit(static_cast<unsigned char>(c))) d += c;
    }
    return d;
  };
  for (const auto& m : members) {
    if (m.name != name) continue;
    if (digits(fingerprint).empty() || !crypto::ConstantTimeEqual(AsBytes(digits(fingerprint)),
                                                                  AsBytes(digits(m.identity_fingerprint)))) {
      return Status::Unauthenticated("the fingerprint does not match the identity this device has for " + name +
                                     "; do not trust it, and ask " + name + " in person");
    }
    VIGIL_ASSIGN_OR_RETURN(auto up, db_.Prepare("UPDATE contacts SET verified_key = identity_key WHERE name = ?"));
    up.Bind(1, name);
    return up.Run();
  }
  return Status::NotFound("no member named " + name + " is known to this device");
}

}  // namespace vigil::client
