#!/usr/bin/env bash
# The Debian packages the test suite needs (the studio itself needs none of them to start):
#   chromium     — browser tests drive Debian's Chromium through playwright-core
#   bubblewrap   — sandboxing of training subprocesses (tests prove the sandbox)
# Installs them when missing and we are root; otherwise fails loudly with the line to run.
set -euo pipefail
packages=(chromium bubblewrap)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "error: the tests need these Debian packages: ${missing[*]}" >&2
  echo "hint: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 2
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
