#!/usr/bin/env bash
# Installs the Debian tools the tests drive, when missing: Chromium (the download page in a
# headless browser, via playwright-core; browser downloads cannot work here), skopeo (an
# independent OCI client to cross-check images), nginx (the cache in front of serve, and the
# benchmarks' reference), wrk (benchmarks), systemd-analyze (checks the shipped unit) and kubectl
# (applies `machinesets --patch` merge patches as the API server does; Debian's package is
# kubernetes-client).
# Prints nothing on stdout; idempotent.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
((${#missing[@]} == 0)) && exit 0
{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 \
  || { echo "tools-up: could not install ${missing[*]} (needs root and Debian's package archive)" >&2; exit 1; }
