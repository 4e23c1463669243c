#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the browser tests (playwright-core drives
# it; browser downloads cannot work here). Prints nothing on stdout; idempotent.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } >&2 \
  || { echo "browser-up: could not install chromium (needs root and Debian's package archive)" >&2; exit 1; }
