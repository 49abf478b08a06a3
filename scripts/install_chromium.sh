#!/usr/bin/env bash
# Makes sure Debian's chromium (and Japanese fonts, so screenshots are legible) are installed for
# the end-to-end browser tests: Playwright drives /usr/bin/chromium and never downloads a browser
# of its own. A no-op when both are there.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -d /usr/share/fonts/opentype/noto ]; then exit 0; fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "install_chromium: install the browser tests' packages with: apt-get install chromium fonts-noto-cjk" >&2
  exit 1
fi
echo "install_chromium: installing Debian's chromium and fonts-noto-cjk (for the browser tests)" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
/usr/bin/chromium --version >&2
