#!/usr/bin/env bash
# Makes sure Debian's chromium is installed for the end-to-end browser tests (Playwright drives
# /usr/bin/chromium; it never downloads a browser of its own). A no-op when it is there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "install_chromium: /usr/bin/chromium is missing; install it with: apt-get install chromium" >&2
  exit 1
fi
echo "install_chromium: installing Debian's chromium (for the browser tests)" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version >&2
