// vigil-relay backup / restore: encrypted, consistent copies of the store.
//
// backup --out FILE writes FILE (the store, re-encrypted under the same
// random store key by sqlcipher_export, taken in one read transaction while
// the relay serves) and FILE.key (a copy of the key header, which only the
// relay passphrase opens). restore --from FILE checks that the pair opens
// and passes integrity_check, then puts it in place of the data directory's
// store (the relay must be stopped; the old files are kept aside).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "relay/commands/commands.h"

namespace vigil::relay {
namespace {

bool Exists(const std::string& p) {
  struct stat sb;
  return stat(p.c_str(), &sb) == 0;
}

Status CopyFile(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + from);
  std::string tmp = to + ".tmp";
  int fd = open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Internal("cannot write " + tmp);
  char buf[65536];
  Status s;
  while (in) {
    in.read(buf, sizeof buf);
    std::streamsize n = in.gcount();
    if (n > 0 && write(fd, buf, static_cast<size_t>(n)) != n) {
      s = Status::ResourceExhausted("cannot write " + tmp + " (disk full?)");
      break;
    }
  }
  if (s.ok() && fsync(fd) != 0) s = Status::DataLoss("fsync failed for " + tmp);
  close(fd);
  if (s.ok() && rename(tmp.c_str(), to.c_str()) != 0) s = Status::Internal("cannot rename " + tmp);
  if (!s.ok()) unlink(tmp.c_str());
  return s;
}

}  // namespace

int CmdBackup(const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"data", "out", "passphrase-file"}, {});
  if (!args.ok()) return Fail(args.status());
  auto out = args->Require("out");
  if (!out.ok()) return Fail(out.status());
  if (Exists(*out) || Exists(*out + ".key")) {
    return Fail(Status::AlreadyExists(*out + " already exists; choose a new name"));
  }
  auto store = OpenRelayStore(*args);
  if (!store.ok()) return Fail(store.status());
  Status s = store->ExportTo(*out);
  if (s.ok()) s = CopyFile(*args->Get("data") + "/" + kStoreName + ".key", *out + ".key");
  if (!s.ok()) {
    unlink(out->c_str());
    return Fail(s);
  }
  chmod(out->c_str(), 0600);
  store->Audit(NowMs(), "backup", "out=" + *out);
  std::cout << "backup written to " << *out << " and " << *out << ".key" << std::endl;
  return 0;
}

int CmdRestore(const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"data", "from", "passphrase-file"}, {});
  if (!args.ok()) return Fail(args.status());
  auto from = args->Require("from");
  if (!from.ok()) return Fail(from.status());
  auto data = args->Require("data");
  if (!data.ok()) return Fail(data.status());
  auto pass = cli::ReadPassphrase("VIGIL_RELAY_PASSPHRASE", args->Get("passphrase-file"),
                                  "Relay passphrase: ", false);
  if (!pass.ok()) return Fail(pass.status());
  // The backup must open with its key header and be intact.
  {
    auto key = storage::UnlockKeyHeader(*from + ".key", pass->span());
    if (!key.ok()) return Fail(key.status().WithContext("backup " + *from + ".key"));
    auto db = storage::Db::Open(*from, *key, /*must_exist=*/true);
    if (!db.ok()) return Fail(db.status().WithContext("backup " + *from));
    Status ic = db->IntegrityCheck();
    if (!ic.ok()) return Fail(ic);
  }
  std::string base = *data + "/" + kStoreName;
  if (Exists(base + ".db")) {
    // Refuse while the relay runs (it would keep writing the old file).
    auto current = RelayStore::Open(*data, pass->span());
    if (current.ok()) {
      auto rt = current->Runtime();
      if (rt.ok() && (*rt)["heartbeat_ms"] > 0 && NowMs() - (*rt)["heartbeat_ms"] < 15000) {
        return Fail(Status::FailedPrecondition("the relay is running; stop it before restoring"));
      }
    }
    std::string aside = base + ".before-restore-" + std::to_string(NowMs() / 1000);
    for (const char* suffix : {".db", ".db-wal", ".db-shm", ".key"}) {
      if (Exists(base + suffix)) rename((base + suffix).c_str(), (aside + suffix).c_str());
    }
    std::cerr << "vigil-relay: the previous store was kept as " << aside << ".*" << std::endl;
  } else {
    mkdir(data->c_str(), 0700);
  }
  Status s = CopyFile(*from + ".key", base + ".key");
  if (s.ok()) s = CopyFile(*from, base + ".db");
  if (!s.ok()) return Fail(s);
  auto restored = RelayStore::Open(*data, pass->span());
  if (!restored.ok()) return Fail(restored.status());
  restored->SetRuntime("heartbeat_ms", 0).IgnoreError();
  restored->Audit(NowMs(), "restore", "from=" + *from);
  std::cout << "restored " << *data << " from " << *from << std::endl;
  return 0;
}

int CmdRekey(const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"data", "passphrase-file", "new-passphrase-file"}, {});
  if (!args.ok()) return Fail(args.status());
  auto data = args->Require("data");
  if (!data.ok()) return Fail(data.status());
  auto old_pass = cli::ReadPassphrase("VIGIL_RELAY_PASSPHRASE", args->Get("passphrase-file"),
                                      "Current relay passphrase: ", false);
  if (!old_pass.ok()) return Fail(old_pass.status());
  auto new_pass = cli::ReadPassphrase("VIGIL_RELAY_NEW_PASSPHRASE", args->Get("new-passphrase-file"),
                                      "New relay passphrase: ", true);
  if (!new_pass.ok()) return Fail(new_pass.status());
  // The header is replaced by an atomic rename: after a crash at any point
  // the store opens with exactly one of the two passphrases.
  Status s = storage::RewrapKeyHeader(*data + "/" + kStoreName + ".key", old_pass->span(),
                                      new_pass->span());
  if (!s.ok()) return Fail(s);
  auto store = RelayStore::Open(*data, new_pass->span());
  if (store.ok()) store->Audit(NowMs(), "rekey", "store key re-wrapped");
  std::cout << "the relay store now opens with the new passphrase" << std::endl;
  return 0;
}

int CmdRotateTransportKey(const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"data", "passphrase-file"}, {"commit"});
  if (!args.ok()) return Fail(args.status());
  auto store = OpenRelayStore(*args);
  if (!store.ok()) return Fail(store.status());
  if (args->Has("commit")) {
    Status s = store->CommitTransportKey();
    if (!s.ok()) return Fail(s);
    auto keys = store->LoadKeys();
    if (!keys.ok()) return Fail(keys.status());
    std::cout << crypto::Fingerprint("vigil/relay", keys->transport_public) << std::endl;
    std::cerr << "vigil-relay: the new transport key is current; restart the relay (clients that "
                 "synced since the announcement move over by themselves)"
              << std::endl;
    return 0;
  }
  auto r = store->AnnounceTransportKey();
  if (!r.ok()) return Fail(r.status());
  std::cout << crypto::Fingerprint("vigil/relay", r->next_public) << std::endl;
  std::cerr << "vigil-relay: announced the next transport key (fingerprint above), signed by the "
               "relay's key; clients learn it at their next sync. When they have, run "
               "rotate-transport-key --commit and restart the relay."
            << std::endl;
  return 0;
}

int CmdPurge(const ArgList& argv) {
  auto args = cli::Args::Parse(argv, {"data", "older-than", "passphrase-file"}, {});
  if (!args.ok()) return Fail(args.status());
  auto age = cli::ParseDuration(args->Get("older-than").value_or("30d"));
  if (!age.ok()) return Fail(age.status());
  auto store = OpenRelayStore(*args);
  if (!store.ok()) return Fail(store.status());
  auto n = store->PurgeOlderThan(NowMs() - *age * 1000);
  if (!n.ok()) return Fail(n.status());
  store->Audit(NowMs(), "purge", "items=" + std::to_string(*n));
  std::cout << "purged " << *n << " items" << std::endl;
  return 0;
}

}  // namespace vigil::relay
