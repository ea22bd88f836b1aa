#!/bin/sh
# What the OCR of uploaded images needs beyond pip (run by `make test`; safe to run again, it only installs what is
# missing): Debian's tesseract-ocr with the Norwegian and English language data (forum/services/ocr.py runs it).
set -eu

apt_install() {
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "OCR: cannot install '$*' (not root, no sudo); install it, or the OCR tests fail" >&2
    return 0
  fi
  $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y "$@" || {
    $SUDO apt-get -o DPkg::Lock::Timeout=900 update && $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y "$@"; }
}

command -v tesseract >/dev/null 2>&1 || apt_install tesseract-ocr
[ -f /usr/share/tesseract-ocr/5/tessdata/nor.traineddata ] || apt_install tesseract-ocr-nor
[ -f /usr/share/tesseract-ocr/5/tessdata/eng.traineddata ] || apt_install tesseract-ocr-eng
