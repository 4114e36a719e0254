#!/usr/bin/env bash
# Copies the screenshots the browser tests took (build/browser-screenshots/,
# from `ctest -R browser_`) that docs/APP.md shows into docs/app/.
# Run after the browser tests when a screen changes; commit docs/app/.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=${1:-build/browser-screenshots}
declare -A shots=(
  [first-run]=firstrun-first-run [joined]=firstrun-joined [link-compare]=firstrun-link-compare
  [unlock]=lock-unlock-wrong [home]=journey-home [phone]=lock-home-phone [offline]=journey-offline
  [assign]=journey-assign [visit]=journey-visit [note-draft]=journey-note-draft
  [note-saved-offline]=journey-note-saved-offline [note-versions]=journey-note-versions
  [amend]=journey-amend [messages]=journey-messages [members]=journey-members
  [devices]=journey-devices [invite]=journey-invite [evidence]=journey-evidence-verified
  [evidence-tampered]=journey-evidence-tampered [settings]=journey-settings [settings-es]=journey-settings-es
)
mkdir -p docs/app
for name in "${!shots[@]}"; do
  f="$src/${shots[$name]}.png"
  [ -f "$f" ] || { echo "missing $f: run ctest -R browser_ first" >&2; exit 1; }
  size=$(stat -c %s "$f")
  [ "$size" -le 153600 ] || { echo "$f is $size bytes (over 150 KB)" >&2; exit 1; }
  cp "$f" "docs/app/$name.png"
done
echo "updated ${#shots[@]} screenshots in docs/app/"
