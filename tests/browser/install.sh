#!/bin/sh
# What the browser suite needs beyond pip (run by `make test`; safe to run again, it only installs what is missing):
# Debian's Chromium (Playwright drives it; never `playwright install`), Java for the Nu Html Checker, and the
# pinned npm packages axe-core and vnu-jar, and sitemap (its copy of the sitemaps.org urlset XML Schema, for
# tests/test_findable.py) (package.json / package-lock.json beside this script).
set -eu
cd "$(dirname "$0")"

apt_install() {
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "browser tests: cannot install '$*' (not root, no sudo); install it, or the browser suite fails" >&2
    return 0
  fi
  $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y "$@" || {
    $SUDO apt-get -o DPkg::Lock::Timeout=900 update && $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y "$@"; }
}

[ -x /usr/bin/chromium ] || apt_install chromium
command -v java >/dev/null 2>&1 || apt_install default-jre-headless

if [ ! -f node_modules/axe-core/axe.min.js ] || [ ! -f node_modules/vnu-jar/build/dist/vnu.jar ] \
   || [ ! -f node_modules/sitemap/schema/sitemap.xsd ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
