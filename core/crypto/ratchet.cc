// The Double Ratchet (Signal's spec, revision 4, without header encryption)
// behind vigil::session::Session. See vigil/session.h for the API and
// docs/SESSIONS_DRAFT.md for the protocol text. Byte-exact definitions:
//
//   KDF_RK(rk, dh_out) = HKDF-SHA-256(salt = rk, ikm = dh_out,
//                                     info = "vigil/ratchet/root/v1", L = 64)
//                        -> new rk = bytes 0..31, chain key = bytes 32..63
//   KDF_CK(ck): message key mk = HMAC-SHA-256(ck, 0x01),
//               next chain key  = HMAC-SHA-256(ck, 0x02)
//   message keys: HKDF-SHA-256(salt = 32 x 0x00, ikm = mk,
//                              info = "vigil/ratchet/msg/v1", L = 56)
//                 -> AEAD key = bytes 0..31, nonce = bytes 32..55
//   header = serialize(MessageHeader{version = 1, ratchet_public_key = DHs,
//                                    previous_chain_length = PN,
//                                    message_number = N})
//   ciphertext = XChaCha20-Poly1305(key, nonce, aad = AD || header, plaintext)
//   message = serialize(SessionMessage{version = 1, header, ciphertext,
//                                      initial (initiator, until the first reply)})
//
// One deliberate difference from the spec's pseudocode (as in olm): the
// sending half of a DH ratchet step is lazy. Receiving a new remote ratchet
// key derives the new receiving chain and ends the sending chain (its
// ratchet secret is wiped at once); the next Encrypt derives the new sending
// chain, KDF_RK(RK, X25519(fresh, DHr)), with the fresh key its caller
// passes in. The resulting keys are those of the spec had it generated that
// key while receiving; Decrypt needs no randomness.
//
// Decryption works on a copy of the state; the caller's state is replaced
// only when the AEAD has authenticated the message.
#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "session_state.h"
#include "vigil/crypto.h"
#include "vigil/session.h"

namespace vigil::session {
namespace {

using crypto::DhKeyPair;
using crypto::SecretBytes;

constexpr char kReplayMessage[] =
    "session message key already used or discarded (a replay, a duplicate, or an expired "
    "skipped message)";

bool SameBytes(ByteSpan a, ByteSpan b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

Bytes ToBytesOf(const std::string& s) { return Bytes(s.begin(), s.end()); }

StatusOr<SecretBytes> OpenWith(const Session::State& s, const SecretBytes& message_key,
                               const ParsedMessage& m) {
  VIGIL_ASSIGN_OR_RETURN(internal::MessageKeys keys, internal::DeriveMessageKeys(message_key));
  Bytes aad = s.ad;
  const std::string& header = m.message.header();
  aad.insert(aad.end(), header.begin(), header.end());
  return crypto::AeadOpen(keys.aead_key, keys.nonce, aad, AsBytes(m.message.ciphertext()));
}

// Derives and stores the message keys of the current receiving chain up to
// (not including) message number `until`.
Status SkipTo(Session::State& s, uint32_t until, int64_t now_ms) {
  if (s.recv_chain_key.empty() || until <= s.recv_n) return Status::Ok();
  if (until - s.recv_n > kMaxSkip) {
    return Status::ResourceExhausted("more than " + std::to_string(kMaxSkip) +
                                     " session messages skipped in one chain");
  }
  const uint32_t count = until - s.recv_n;
  std::vector<SkippedKeys::Entry> entries(count);
  SecretBytes keys(static_cast<size_t>(count) * kKeySize);
  for (uint32_t i = 0; i < count; ++i) {
    internal::ChainStep step = internal::KdfChain(s.recv_chain_key);
    std::memcpy(keys.data() + static_cast<size_t>(i) * kKeySize, step.message_key.data(), kKeySize);
    std::memcpy(entries[i].ratchet_public.data(), s.remote_ratchet_public.data(), kKeySize);
    entries[i].message_number = s.recv_n + i;
    entries[i].received_at_ms = now_ms;
    s.recv_chain_key = std::move(step.next_chain_key);
  }
  s.recv_n = until;
  s.skipped.Append(entries, keys);
  return Status::Ok();
}

void WipeSecrets(store::v1::SessionState& st) {
  crypto::Wipe(*st.mutable_root_key());
  crypto::Wipe(*st.mutable_sending_ratchet_secret_key());
  crypto::Wipe(*st.mutable_sending_chain_key());
  crypto::Wipe(*st.mutable_receiving_chain_key());
  for (auto& k : *st.mutable_skipped()) crypto::Wipe(*k.mutable_message_key());
}

Bytes StateDigest(ByteSpan state) {
  crypto::Sha256Hasher h;
  h.Update(AsBytes(kStateDigestLabel));
  const uint8_t zero = 0;
  h.Update(ByteSpan(&zero, 1));
  h.Update(state);
  return h.Finish();
}

void ToProto(const InitialHeaderInfo& in, store::v1::InitialHeader* out) {
  out->set_identity_dh_public_key(ToString(in.identity_dh_public_key));
  out->set_base_key(ToString(in.base_key));
  out->set_signed_prekey_id(in.signed_prekey_id);
  if (in.one_time_prekey_id) out->set_one_time_prekey_id(*in.one_time_prekey_id);
}

StatusOr<InitialHeaderInfo> FromProto(const store::v1::InitialHeader& in) {
  if (in.identity_dh_public_key().size() != kKeySize || in.base_key().size() != kKeySize) {
    return Status::InvalidArgument("initial header has wrong key sizes");
  }
  InitialHeaderInfo out;
  out.identity_dh_public_key = ToBytesOf(in.identity_dh_public_key());
  out.base_key = ToBytesOf(in.base_key());
  out.signed_prekey_id = in.signed_prekey_id();
  if (in.has_one_time_prekey_id()) out.one_time_prekey_id = in.one_time_prekey_id();
  return out;
}

Status Damaged(std::string_view what) {
  return Status::DataLoss("stored session is damaged: " + std::string(what));
}

}  // namespace

// --- KDFs ---

namespace internal {

StatusOr<RootStep> KdfRoot(const SecretBytes& root_key, const SecretBytes& dh_out) {
  if (root_key.size() != kKeySize || dh_out.size() != kKeySize) {
    return Status::InvalidArgument("KDF_RK inputs must be 32 bytes");
  }
  VIGIL_ASSIGN_OR_RETURN(SecretBytes out,
                         crypto::Hkdf(root_key.span(), dh_out.span(), AsBytes(kRootInfo),
                                      2 * kKeySize));
  return RootStep{SecretBytes::CopyOf(out.span().first(kKeySize)),
                  SecretBytes::CopyOf(out.span().subspan(kKeySize, kKeySize))};
}

ChainStep KdfChain(const SecretBytes& chain_key) {
  const uint8_t message_byte = 0x01, chain_byte = 0x02;
  return ChainStep{crypto::HmacSha256(chain_key.span(), ByteSpan(&message_byte, 1)),
                   crypto::HmacSha256(chain_key.span(), ByteSpan(&chain_byte, 1))};
}

StatusOr<MessageKeys> DeriveMessageKeys(const SecretBytes& message_key) {
  if (message_key.size() != kKeySize) return Status::InvalidArgument("message key must be 32 bytes");
  const uint8_t zero_salt[kKeySize] = {0};
  VIGIL_ASSIGN_OR_RETURN(
      SecretBytes out,
      crypto::Hkdf(ByteSpan(zero_salt, sizeof zero_salt), message_key.span(),
                   AsBytes(kMessageInfo), crypto::kAeadKeySize + crypto::kAeadNonceSize));
  ByteSpan nonce = out.span().subspan(crypto::kAeadKeySize, crypto::kAeadNonceSize);
  return MessageKeys{SecretBytes::CopyOf(out.span().first(crypto::kAeadKeySize)),
                     Bytes(nonce.begin(), nonce.end())};
}

}  // namespace internal

// --- SkippedKeys ---

std::optional<size_t> SkippedKeys::Find(ByteSpan ratchet_public, uint32_t message_number) const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].message_number == message_number &&
        SameBytes(entries_[i].ratchet_public, ratchet_public)) {
      return i;
    }
  }
  return std::nullopt;
}

SecretBytes SkippedKeys::Take(size_t i) {
  SecretBytes k = SecretBytes::CopyOf(key(i));
  std::vector<bool> keep(entries_.size(), true);
  keep[i] = false;
  Filter(keep);
  return k;
}

void SkippedKeys::Append(const std::vector<Entry>& entries, const SecretBytes& keys) {
  const size_t total = entries_.size() + entries.size();
  const size_t drop = total > kMaxSkippedKeys ? total - kMaxSkippedKeys : 0;
  std::vector<Entry> merged;
  merged.reserve(total - drop);
  SecretBytes merged_keys((total - drop) * kKeySize);
  size_t at = 0;
  for (size_t i = 0; i < total; ++i) {
    if (i < drop) continue;  // the oldest are evicted
    const bool old = i < entries_.size();
    merged.push_back(old ? entries_[i] : entries[i - entries_.size()]);
    ByteSpan k = old ? key(i) : keys.span().subspan((i - entries_.size()) * kKeySize, kKeySize);
    std::memcpy(merged_keys.data() + at * kKeySize, k.data(), kKeySize);
    ++at;
  }
  entries_ = std::move(merged);
  keys_ = std::move(merged_keys);
}

size_t SkippedKeys::DropOlderThan(int64_t cutoff_ms) {
  std::vector<bool> keep(entries_.size());
  size_t dropped = 0;
  for (size_t i = 0; i < entries_.size(); ++i) {
    keep[i] = entries_[i].received_at_ms >= cutoff_ms;
    if (!keep[i]) ++dropped;
  }
  if (dropped > 0) Filter(keep);
  return dropped;
}

void SkippedKeys::Filter(const std::vector<bool>& keep) {
  std::vector<Entry> kept;
  size_t n = static_cast<size_t>(std::count(keep.begin(), keep.end(), true));
  SecretBytes kept_keys(n * kKeySize);
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (!keep[i]) continue;
    std::memcpy(kept_keys.data() + kept.size() * kKeySize, key(i).data(), kKeySize);
    kept.push_back(entries_[i]);
  }
  entries_ = std::move(kept);
  keys_ = std::move(kept_keys);
}

SkippedKeys SkippedKeys::Clone() const {
  SkippedKeys c;
  c.entries_ = entries_;
  c.keys_ = keys_.Clone();
  return c;
}

// --- State ---

Session::State Session::State::Clone() const {
  State c;
  c.initiator = initiator;
  c.local = local;
  c.remote = remote;
  c.ad = ad;
  c.root_key = root_key.Clone();
  c.send_ratchet_public = send_ratchet_public;
  c.send_ratchet_secret = send_ratchet_secret.Clone();
  c.send_chain_key = send_chain_key.Clone();
  c.send_n = send_n;
  c.previous_n = previous_n;
  c.remote_ratchet_public = remote_ratchet_public;
  c.recv_chain_key = recv_chain_key.Clone();
  c.recv_n = recv_n;
  c.skipped = skipped.Clone();
  c.previous_remote_ratchet = previous_remote_ratchet;
  c.initial = initial;
  c.initial_remote_ratchet = initial_remote_ratchet;
  return c;
}

// --- messages ---

StatusOr<ParsedMessage> ParseMessage(ByteSpan bytes) {
  if (bytes.size() > kMaxSessionMessageSize) {
    return Status::InvalidArgument("session message too large");
  }
  ParsedMessage m;
  if (!m.message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::InvalidArgument("malformed session message");
  }
  if (m.message.version() != kSessionVersion) {
    return Status::Unimplemented("session message version " +
                                 std::to_string(m.message.version()) + " is not supported");
  }
  if (m.message.header().size() > kMaxHeaderSize ||
      !m.header.ParseFromString(m.message.header())) {
    return Status::InvalidArgument("malformed session message header");
  }
  if (m.header.version() != kSessionVersion) {
    return Status::Unimplemented("session message header version " +
                                 std::to_string(m.header.version()) + " is not supported");
  }
  if (m.header.ratchet_public_key().size() != kKeySize) {
    return Status::InvalidArgument("session message ratchet key must be 32 bytes");
  }
  if (m.header.message_number() == std::numeric_limits<uint32_t>::max()) {
    return Status::InvalidArgument("session message number out of range");
  }
  if (m.message.ciphertext().size() < crypto::kAeadTagSize) {
    return Status::InvalidArgument("session message ciphertext is truncated");
  }
  if (m.message.has_initial()) {
    VIGIL_ASSIGN_OR_RETURN(m.initial, FromProto(m.message.initial()));
  }
  return m;
}

StatusOr<std::optional<InitialHeaderInfo>> PeekInitialHeader(ByteSpan message) {
  VIGIL_ASSIGN_OR_RETURN(ParsedMessage m, ParseMessage(message));
  return m.initial;
}

StatusOr<SecretBytes> DecryptWithState(Session::State& s, const ParsedMessage& m, int64_t now_ms) {
  const ByteSpan dh = AsBytes(m.header.ratchet_public_key());
  const uint32_t n = m.header.message_number();
  // The initiator sends the initial header with exactly the messages of its
  // first sending chain; the responder checks that it is there (and the
  // same) on those and absent on all others.
  if (m.initial && (s.initiator || !s.initial || !SameInitial(*m.initial, *s.initial))) {
    return Status::FailedPrecondition("session message starts a new session");
  }
  if (!s.initiator && m.initial.has_value() != SameBytes(dh, s.initial_remote_ratchet)) {
    return Status::Unauthenticated(m.initial ? "initial header on a later session message"
                                             : "first session messages must carry the initial header");
  }

  std::optional<SecretBytes> plaintext;
  if (std::optional<size_t> i = s.skipped.Find(dh, n)) {
    // A message skipped earlier (out of order): its key is used up now.
    SecretBytes message_key = s.skipped.Take(*i);
    VIGIL_ASSIGN_OR_RETURN(plaintext, OpenWith(s, message_key, m));
  } else {
    if (SameBytes(dh, s.remote_ratchet_public)) {
      if (s.recv_chain_key.empty()) {
        return Status::Unauthenticated("session message does not belong to this session");
      }
      if (n < s.recv_n) return Status::AlreadyExists(kReplayMessage);
    } else {
      for (const Bytes& old : s.previous_remote_ratchet) {
        if (SameBytes(dh, old)) return Status::AlreadyExists(kReplayMessage);
      }
      // A new remote ratchet key. The peer can only have made it after
      // receiving our current sending ratchet key, so that key must exist.
      if (!s.has_sending_chain()) {
        return Status::Unauthenticated("session message uses an unexpected ratchet key");
      }
      VIGIL_RETURN_IF_ERROR(SkipTo(s, m.header.previous_chain_length(), now_ms));
      auto dh_out = crypto::X25519(s.send_ratchet_secret, dh);
      if (!dh_out.ok()) return dh_out.status().WithContext("session ratchet key");
      VIGIL_ASSIGN_OR_RETURN(internal::RootStep step, internal::KdfRoot(s.root_key, *dh_out));
      if (!s.recv_chain_key.empty()) {
        s.previous_remote_ratchet.push_back(s.remote_ratchet_public);
        if (s.previous_remote_ratchet.size() > kMaxPreviousRemoteRatchetKeys) {
          s.previous_remote_ratchet.erase(s.previous_remote_ratchet.begin());
        }
      }
      s.root_key = std::move(step.root_key);
      s.recv_chain_key = std::move(step.chain_key);
      s.remote_ratchet_public = Bytes(dh.begin(), dh.end());
      s.recv_n = 0;
      // Our sending chain ends here; the next Encrypt starts a new one with
      // a fresh ratchet key (PN = send_n then).
      s.send_ratchet_public.clear();
      s.send_ratchet_secret = SecretBytes();
      s.send_chain_key = SecretBytes();
    }
    VIGIL_RETURN_IF_ERROR(SkipTo(s, n, now_ms));
    internal::ChainStep step = internal::KdfChain(s.recv_chain_key);
    s.recv_chain_key = std::move(step.next_chain_key);
    s.recv_n = n + 1;
    VIGIL_ASSIGN_OR_RETURN(plaintext, OpenWith(s, step.message_key, m));
  }
  // An authenticated message from the responder: it has the session, so
  // the initiator stops sending the initial header.
  if (s.initiator) s.initial.reset();
  return std::move(*plaintext);
}

// --- Session ---

Session::Session(std::unique_ptr<State> state) : state_(std::move(state)) {}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

Session Session::Clone() const { return Session(std::make_unique<State>(state_->Clone())); }

bool Session::is_initiator() const { return state_->initiator; }
const DeviceIdentity& Session::local_device() const { return state_->local; }
const DeviceIdentity& Session::remote_device() const { return state_->remote; }
bool Session::awaiting_first_reply() const { return state_->initiator && state_->initial.has_value(); }
bool Session::NeedsFreshRatchetKey() const { return !state_->has_sending_chain(); }
size_t Session::skipped_key_count() const { return state_->skipped.size(); }

StatusOr<Bytes> Session::Encrypt(ByteSpan plaintext, DhKeyPair fresh_ratchet_key) {
  if (plaintext.size() > kMaxPlaintextSize) {
    return Status::InvalidArgument("session plaintext too large");
  }
  State s = state_->Clone();
  if (!s.has_sending_chain()) {
    VIGIL_RETURN_IF_ERROR(CheckKeyPair(fresh_ratchet_key, "fresh ratchet key"));
    auto dh_out = crypto::X25519(fresh_ratchet_key.secret_key, s.remote_ratchet_public);
    if (!dh_out.ok()) return dh_out.status().WithContext("session ratchet key");
    VIGIL_ASSIGN_OR_RETURN(internal::RootStep step, internal::KdfRoot(s.root_key, *dh_out));
    s.root_key = std::move(step.root_key);
    s.send_chain_key = std::move(step.chain_key);
    s.send_ratchet_public = fresh_ratchet_key.public_key;
    s.send_ratchet_secret = std::move(fresh_ratchet_key.secret_key);
    s.previous_n = s.send_n;
    s.send_n = 0;
  }
  if (s.send_n == std::numeric_limits<uint32_t>::max()) {  // N = 2^32-1 is refused
    return Status::ResourceExhausted("session sending chain is exhausted");
  }
  store::v1::MessageHeader header;
  header.set_version(kSessionVersion);
  header.set_ratchet_public_key(ToString(s.send_ratchet_public));
  header.set_previous_chain_length(s.previous_n);
  header.set_message_number(s.send_n);
  const std::string header_bytes = header.SerializeAsString();

  internal::ChainStep step = internal::KdfChain(s.send_chain_key);
  s.send_chain_key = std::move(step.next_chain_key);
  ++s.send_n;
  VIGIL_ASSIGN_OR_RETURN(internal::MessageKeys keys, internal::DeriveMessageKeys(step.message_key));
  Bytes aad = s.ad;
  aad.insert(aad.end(), header_bytes.begin(), header_bytes.end());
  VIGIL_ASSIGN_OR_RETURN(Bytes ciphertext, crypto::AeadSeal(keys.aead_key, keys.nonce, aad, plaintext));

  store::v1::SessionMessage msg;
  msg.set_version(kSessionVersion);
  msg.set_header(header_bytes);
  msg.set_ciphertext(ToString(ciphertext));
  if (s.initiator && s.initial) ToProto(*s.initial, msg.mutable_initial());
  *state_ = std::move(s);
  return ToBytes(msg.SerializeAsString());
}

StatusOr<DecryptResult> Session::Decrypt(ByteSpan message, int64_t now_ms) const {
  VIGIL_ASSIGN_OR_RETURN(ParsedMessage m, ParseMessage(message));
  auto next = std::make_unique<State>(state_->Clone());
  VIGIL_ASSIGN_OR_RETURN(SecretBytes plaintext, DecryptWithState(*next, m, now_ms));
  return DecryptResult{Session(std::move(next)), std::move(plaintext), std::nullopt};
}

size_t Session::DropSkippedKeysOlderThan(int64_t now_ms, int64_t max_age_ms) {
  return state_->skipped.DropOlderThan(now_ms - max_age_ms);
}

// --- storage ---

SecretBytes Session::Serialize() const {
  const State& s = *state_;
  store::v1::SessionState st;
  st.set_version(kSessionVersion);
  st.set_role(s.initiator ? store::v1::SessionState::ROLE_INITIATOR
                          : store::v1::SessionState::ROLE_RESPONDER);
  st.set_local_device_id(ToString(s.local.device_id));
  st.set_local_signing_public_key(ToString(s.local.signing_public_key));
  st.set_local_identity_dh_public_key(ToString(s.local.dh_public_key));
  st.set_remote_device_id(ToString(s.remote.device_id));
  st.set_remote_signing_public_key(ToString(s.remote.signing_public_key));
  st.set_remote_identity_dh_public_key(ToString(s.remote.dh_public_key));
  st.set_root_key(ToString(s.root_key.span()));
  st.set_sending_ratchet_public_key(ToString(s.send_ratchet_public));
  st.set_sending_ratchet_secret_key(ToString(s.send_ratchet_secret.span()));
  st.set_sending_chain_key(ToString(s.send_chain_key.span()));
  st.set_sending_message_number(s.send_n);
  st.set_previous_sending_chain_length(s.previous_n);
  st.set_remote_ratchet_public_key(ToString(s.remote_ratchet_public));
  st.set_receiving_chain_key(ToString(s.recv_chain_key.span()));
  st.set_receiving_message_number(s.recv_n);
  for (size_t i = 0; i < s.skipped.size(); ++i) {
    const SkippedKeys::Entry& e = s.skipped.entries()[i];
    auto* k = st.add_skipped();
    k->set_ratchet_public_key(ToString(e.ratchet_public));
    k->set_message_number(e.message_number);
    k->set_message_key(ToString(s.skipped.key(i)));
    k->set_received_at_ms(e.received_at_ms);
  }
  for (const Bytes& b : s.previous_remote_ratchet) st.add_previous_remote_ratchet_keys(ToString(b));
  if (s.initial) ToProto(*s.initial, st.mutable_initial());
  st.set_initial_ratchet_public_key(ToString(s.initial_remote_ratchet));

  store::v1::StoredSession record;
  st.SerializeToString(record.mutable_state());
  WipeSecrets(st);
  record.set_sha256(ToString(StateDigest(AsBytes(record.state()))));
  std::string out;
  record.SerializeToString(&out);
  SecretBytes result = SecretBytes::CopyOf(AsBytes(out));
  crypto::Wipe(out);
  crypto::Wipe(*record.mutable_state());
  return result;
}

namespace {

StatusOr<std::unique_ptr<Session::State>> StateFromProto(const store::v1::SessionState& st) {
  if (st.version() != kSessionVersion) {
    return Status::Unimplemented("stored session version " + std::to_string(st.version()) +
                                 " is not supported");
  }
  auto s = std::make_unique<Session::State>();
  if (st.role() == store::v1::SessionState::ROLE_INITIATOR) {
    s->initiator = true;
  } else if (st.role() != store::v1::SessionState::ROLE_RESPONDER) {
    return Damaged("unknown role");
  }
  s->local = {ToBytesOf(st.local_device_id()), ToBytesOf(st.local_signing_public_key()),
              ToBytesOf(st.local_identity_dh_public_key())};
  s->remote = {ToBytesOf(st.remote_device_id()), ToBytesOf(st.remote_signing_public_key()),
               ToBytesOf(st.remote_identity_dh_public_key())};
  if (!CheckIdentity(s->local, "local").ok() || !CheckIdentity(s->remote, "remote").ok()) {
    return Damaged("device key or id sizes");
  }
  s->ad = s->initiator ? internal::AssociatedData(s->local, s->remote)
                       : internal::AssociatedData(s->remote, s->local);
  if (st.root_key().size() != kKeySize) return Damaged("root key size");
  s->root_key = SecretBytes::CopyOf(AsBytes(st.root_key()));

  const bool has_sending = !st.sending_chain_key().empty();
  if (has_sending) {
    if (st.sending_chain_key().size() != kKeySize ||
        st.sending_ratchet_public_key().size() != kKeySize ||
        st.sending_ratchet_secret_key().size() != kKeySize) {
      return Damaged("sending chain sizes");
    }
    DhKeyPair kp{ToBytesOf(st.sending_ratchet_public_key()),
                 SecretBytes::CopyOf(AsBytes(st.sending_ratchet_secret_key()))};
    if (!CheckKeyPair(kp, "sending ratchet key").ok()) return Damaged("sending ratchet key pair");
    s->send_ratchet_public = std::move(kp.public_key);
    s->send_ratchet_secret = std::move(kp.secret_key);
    s->send_chain_key = SecretBytes::CopyOf(AsBytes(st.sending_chain_key()));
  } else if (!st.sending_ratchet_public_key().empty() || !st.sending_ratchet_secret_key().empty()) {
    return Damaged("sending ratchet key without a chain");
  }
  s->send_n = st.sending_message_number();
  s->previous_n = st.previous_sending_chain_length();
  if (st.remote_ratchet_public_key().size() != kKeySize) return Damaged("remote ratchet key size");
  s->remote_ratchet_public = ToBytesOf(st.remote_ratchet_public_key());
  if (!st.receiving_chain_key().empty() && st.receiving_chain_key().size() != kKeySize) {
    return Damaged("receiving chain key size");
  }
  s->recv_chain_key = SecretBytes::CopyOf(AsBytes(st.receiving_chain_key()));
  s->recv_n = st.receiving_message_number();
  if (!has_sending && s->recv_chain_key.empty()) return Damaged("no chain at all");

  if (static_cast<size_t>(st.skipped_size()) > kMaxSkippedKeys) {
    return Damaged("too many skipped message keys");
  }
  std::vector<SkippedKeys::Entry> entries(static_cast<size_t>(st.skipped_size()));
  SecretBytes keys(entries.size() * kKeySize);
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& k = st.skipped(static_cast<int>(i));
    if (k.ratchet_public_key().size() != kKeySize || k.message_key().size() != kKeySize) {
      return Damaged("skipped message key sizes");
    }
    std::memcpy(entries[i].ratchet_public.data(), k.ratchet_public_key().data(), kKeySize);
    entries[i].message_number = k.message_number();
    entries[i].received_at_ms = k.received_at_ms();
    std::memcpy(keys.data() + i * kKeySize, k.message_key().data(), kKeySize);
  }
  s->skipped.Append(entries, keys);

  if (static_cast<size_t>(st.previous_remote_ratchet_keys_size()) > kMaxPreviousRemoteRatchetKeys) {
    return Damaged("too many previous ratchet keys");
  }
  for (const std::string& k : st.previous_remote_ratchet_keys()) {
    if (k.size() != kKeySize) return Damaged("previous ratchet key size");
    s->previous_remote_ratchet.push_back(ToBytesOf(k));
  }
  if (st.has_initial()) {
    auto initial = FromProto(st.initial());
    if (!initial.ok()) return Damaged("initial header");
    s->initial = std::move(*initial);
  } else if (!s->initiator) {
    return Damaged("responder session without its initial header");
  }
  const size_t want_initial_ratchet = s->initiator ? 0 : kKeySize;
  if (st.initial_ratchet_public_key().size() != want_initial_ratchet) {
    return Damaged("initial ratchet key size");
  }
  s->initial_remote_ratchet = ToBytesOf(st.initial_ratchet_public_key());
  return s;
}

}  // namespace

StatusOr<Session> Session::Parse(ByteSpan bytes) {
  if (bytes.size() > kMaxSerializedSessionSize) return Damaged("too large");
  store::v1::StoredSession record;
  if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Damaged("malformed record");
  }
  struct WipeRecord {
    store::v1::StoredSession* r;
    ~WipeRecord() { crypto::Wipe(*r->mutable_state()); }
  } wipe_record{&record};
  if (record.sha256().size() != crypto::kSha256Size ||
      !crypto::ConstantTimeEqual(StateDigest(AsBytes(record.state())), AsBytes(record.sha256()))) {
    return Damaged("truncated or corrupted (digest mismatch)");
  }
  store::v1::SessionState st;
  if (!st.ParseFromString(record.state())) return Damaged("malformed state");
  auto state = StateFromProto(st);
  WipeSecrets(st);
  if (!state.ok()) return state.status();
  return Session(std::move(*state));
}

}  // namespace vigil::session
