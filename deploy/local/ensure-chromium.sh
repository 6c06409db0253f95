#!/usr/bin/env bash
# The browser tests drive Debian's chromium through Playwright (never a browser Playwright
# downloads itself). Installs it when missing; needs root for apt.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "chromium is missing: run 'sudo apt-get install chromium' (needed by the browser tests)" >&2
  exit 1
fi
echo "== installing chromium (Debian package) for the browser tests"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium > /dev/null
/usr/bin/chromium --version
