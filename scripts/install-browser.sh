#!/usr/bin/env bash
# Installs Debian's headless Chromium and its WebDriver, which the Web UI's browser tests drive.
# Used by .ci/run and, on a fresh machine, by the browser tests themselves, so `cargo test` needs
# nothing installed by hand. Does nothing when chromedriver is already there.
set -euo pipefail
if [ -x /usr/bin/chromedriver ] && [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-browser: need root to apt-get install chromium chromium-driver" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
