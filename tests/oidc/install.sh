#!/bin/sh
# The OpenID provider the OIDC tests run (run by `make test`; safe to run again, it only installs what is missing):
# Node (Debian's, 18+; oidc-provider 9 wants 22 but runs on 20) and the pinned npm package oidc-provider
# (package.json / package-lock.json beside this script).
set -eu
cd "$(dirname "$0")"

if ! command -v node >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "oidc tests: cannot install nodejs (not root, no sudo); install it, or the OIDC tests fail" >&2
    exit 0
  fi
  $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y nodejs npm || {
    $SUDO apt-get -o DPkg::Lock::Timeout=900 update && $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y nodejs npm; }
fi
if [ ! -f node_modules/oidc-provider/package.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
