"""Static files under content-hashed names: `/static/forum.<hash>.css` may be kept for a year by every cache,
because new bytes get a new name. The plain name (`/static/forum.css`) keeps working, revalidated each time; an
old hash (a page rendered before a deploy, kept by a proxy) is redirected to the current file, never cached."""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path

from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
HASHED = re.compile(r"(?P<stem>.+)\.(?P<hash>[0-9a-f]{12})(?P<ext>\.[A-Za-z0-9]+)")


def manifest(directory: Path) -> dict[str, str]:
    """Each file's path below `directory` -> the first 12 hex digits of the SHA-256 of its bytes."""
    return {path.relative_to(directory).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            for path in sorted(directory.rglob("*")) if path.is_file()}


def hashed_name(name: str, digest: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.{digest}.{ext}" if dot else f"{name}.{digest}"


@cache
def _forum_manifest() -> dict[str, str]:
    return manifest(STATIC_DIR)


def asset(name: str) -> str:
    """The `path` for `path_for('static', ...)` of one of the forum's static files: its hashed name."""
    return "/" + hashed_name(name, _forum_manifest()[name])


class HashedStaticFiles(StaticFiles):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory)
        self.hashes = manifest(directory)

    async def get_response(self, path: str, scope: Scope) -> Response:
        match = HASHED.fullmatch(path)
        original = f"{match['stem']}{match['ext']}" if match else None
        if original in self.hashes:
            if match["hash"] != self.hashes[original]:
                current = scope.get("root_path", "") + scope["path"][: -len(path)] + \
                    hashed_name(original, self.hashes[original])
                return RedirectResponse(current, status_code=302, headers={"cache-control": "no-cache"})
            response = await super().get_response(original, scope)
            if response.status_code in (200, 304):
                response.headers["cache-control"] = IMMUTABLE
            return response
        return await super().get_response(path, scope)
