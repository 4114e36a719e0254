#!/usr/bin/env bash
# One-command local relay: installs what is missing, builds, initialises a
# relay under ./var/relay listening on 127.0.0.1:7450 (first run only),
# starts it, and prints a coordinator invite. Ctrl-C stops it cleanly.
#
# The relay passphrase is VIGIL_RELAY_PASSPHRASE if set; otherwise a random
# development passphrase kept in ./var/relay-dev-passphrase (mode 0600).
set -euo pipefail
cd "$(dirname "$0")/.."

./deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target vigil-relay vigil

DATA=var/relay
LISTEN=${VIGIL_LISTEN:-tcp://127.0.0.1:7450}
mkdir -p var
chmod 700 var
PASS_ARGS=()
if [ -z "${VIGIL_RELAY_PASSPHRASE:-}" ]; then
  PASS_FILE=var/relay-dev-passphrase
  if [ ! -f "$PASS_FILE" ]; then
    (umask 077; head -c 24 /dev/urandom | base64 > "$PASS_FILE")
  fi
  echo "local-relay: using the development passphrase in $PASS_FILE (set VIGIL_RELAY_PASSPHRASE to use your own)" >&2
  PASS_ARGS=(--passphrase-file "$PASS_FILE")
fi

RELAY=build/bin/vigil-relay
if [ ! -f "$DATA/relay.db" ]; then
  echo "local-relay: initialising a new relay in $DATA" >&2
  "$RELAY" init --data "$DATA" --listen "$LISTEN" "${PASS_ARGS[@]}"
fi

LOG=var/relay.log
: > "$LOG"
"$RELAY" serve --data "$DATA" "${PASS_ARGS[@]}" 2> >(tee -a "$LOG" >&2) &
PID=$!

stop() {
  trap - INT TERM
  kill -TERM "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null
  exit 0
}
trap stop INT TERM

for _ in $(seq 1 150); do
  if grep -q listening "$LOG" 2>/dev/null; then break; fi
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "local-relay: the relay did not start; see the messages above" >&2
    wait "$PID" || exit $?
    exit 1
  fi
  sleep 0.1
done

NAME=Coordinator
if ! CODE=$("$RELAY" invite --data "$DATA" --role coordinator --name "$NAME" "${PASS_ARGS[@]}" 2>/dev/null); then
  NAME="Coordinator-$(date +%s)"
  CODE=$("$RELAY" invite --data "$DATA" --role coordinator --name "$NAME" "${PASS_ARGS[@]}")
fi
cat <<MSG

Relay running on $LISTEN (data in $DATA). First coordinator invite, for "$NAME"
(valid 72 hours, works once):

$CODE

Join with:
  build/bin/vigil --home ~/.vigil init
  build/bin/vigil --home ~/.vigil join '<the invite above>'

Press Ctrl-C to stop the relay.
MSG

wait "$PID"
