#!/usr/bin/env bash
# Installs the built binaries, the systemd unit and the directories of a
# Vigil relay on a Debian 12 server, and the desktop launcher of `vigil app`
# (the members' interface) for desktop machines. Idempotent.
#
#   ./deploy/install.sh                 # real install (as root)
#   DESTDIR=/tmp/root ./deploy/install.sh   # lay the files out under DESTDIR only
#
# BUILD_DIR (default ./build) holds bin/vigil-relay and bin/vigil.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
DESTDIR=${DESTDIR:-}
if [ ! -x "$BUILD_DIR/bin/vigil-relay" ] || [ ! -x "$BUILD_DIR/bin/vigil" ]; then
  echo "install.sh: $BUILD_DIR/bin/vigil-relay is missing; build first:" >&2
  echo "  cmake -S . -B build && cmake --build build -j2" >&2
  exit 1
fi

install -d -m 0755 "$DESTDIR/usr/local/bin" "$DESTDIR/etc/systemd/system" "$DESTDIR/usr/local/share/doc/vigil"
install -m 0755 "$BUILD_DIR/bin/vigil-relay" "$BUILD_DIR/bin/vigil" "$DESTDIR/usr/local/bin/"
install -m 0644 deploy/systemd/vigil-relay.service "$DESTDIR/etc/systemd/system/vigil-relay.service"
install -m 0644 docs/OPERATIONS.md docs/EVIDENCE.md "$DESTDIR/usr/local/share/doc/vigil/"
# Timestamp plugins: beside the binaries (<bin>/../lib/vigil/plugins is the
# default plugin directory of both programs). Not writable by the service.
install -d -m 0755 "$DESTDIR/usr/local/lib/vigil/plugins"
for p in "$BUILD_DIR"/lib/vigil/plugins/*.so; do
  [ -e "$p" ] && install -m 0644 "$p" "$DESTDIR/usr/local/lib/vigil/plugins/"
done
# The members' launcher: "Vigil" in the desktop's application menu runs
# `vigil app`, which opens the interface in the default browser.
install -d -m 0755 "$DESTDIR/usr/local/share/applications"
install -m 0644 deploy/vigil-app.desktop "$DESTDIR/usr/local/share/applications/vigil-app.desktop"
install -d -m 0750 "$DESTDIR/etc/vigil-relay"
install -m 0644 deploy/vigil-relay.conf.example "$DESTDIR/etc/vigil-relay/vigil-relay.conf.example"
if [ ! -e "$DESTDIR/etc/vigil-relay/vigil-relay.conf" ]; then
  install -m 0644 deploy/vigil-relay.conf.example "$DESTDIR/etc/vigil-relay/vigil-relay.conf"
fi
install -d -m 0700 "$DESTDIR/var/lib/vigil-relay"

if [ -z "$DESTDIR" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: a real install needs root (or set DESTDIR)" >&2
    exit 1
  fi
  if ! id vigil >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/vigil-relay --shell /usr/sbin/nologin vigil
  fi
  chown vigil:vigil /var/lib/vigil-relay
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
  fi
fi

cat <<'MSG'
Installed. Next steps (docs/OPERATIONS.md has the details):
  1. sudo sh -c 'umask 077; head -c 32 /dev/urandom | base64 > /etc/vigil-relay/relay-passphrase'
  2. sudo -u vigil vigil-relay init --data /var/lib/vigil-relay --listen tcp://0.0.0.0:7450 \
         --passphrase-file /etc/vigil-relay/relay-passphrase      # note the fingerprint it prints
  3. sudo systemctl enable --now vigil-relay
  4. sudo -u vigil vigil-relay invite --data /var/lib/vigil-relay --role coordinator --name NAME \
         --passphrase-file /etc/vigil-relay/relay-passphrase
Members start "Vigil" from the application menu (or run: vigil app).
MSG
