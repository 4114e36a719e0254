#!/usr/bin/env bash
# Installs the Debian 12 packages Vigil builds and tests with. Idempotent:
# packages already present are skipped, and apt is only touched when
# something is missing. Called by ./deploy/local-relay.sh and ./tests/run.sh.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libsodium-dev libzmq3-dev cppzmq-dev
  libprotobuf-dev protobuf-compiler
  libsqlcipher-dev sqlcipher
  libgtest-dev libgmock-dev libbenchmark-dev
  libssl-dev libcurl4-openssl-dev openssl
  libcpp-httplib-dev nlohmann-json3-dev libzip-dev
  strace
  clang libclang-rt-14-dev
  systemd
  # The app's browser tests (tests/browser): headless Chromium driven by Selenium
  # from Debian's /usr/bin/python3; a font so pages render text in screenshots.
  chromium chromium-driver python3-selenium fonts-dejavu-core
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
