"""Static files under content-hashed URLs, kept a year by any cache; the URL changes when the bytes do."""

from __future__ import annotations

import re

import httpx

from forum.web.assets import IMMUTABLE, HashedStaticFiles, hashed_name, manifest

ASSET = re.compile(r'(?:href|src)="(/static/[^"]+)"')


async def test_pages_link_hashed_assets_that_are_immutable(anon):
    page = await anon.get("/search")
    links = ASSET.findall(page.text)
    assert {re.sub(r"\.[0-9a-f]{12}\.", ".", link) for link in links} == {"/static/forum.css", "/static/forum.js"}
    for link in links:
        response = await anon.get(link)
        assert response.status_code == 200
        assert response.headers["cache-control"] == IMMUTABLE
        plain = await anon.get(re.sub(r"\.[0-9a-f]{12}\.", ".", link))
        assert plain.content == response.content
        assert plain.headers["cache-control"] == "no-cache, private"  # the plain name: revalidated
    assert (await anon.get("/static/nothing.0123456789ab.css")).status_code == 404


async def test_the_url_changes_when_the_bytes_change_and_an_old_url_redirects_to_the_new(tmp_path):
    (tmp_path / "site.css").write_text("body { color: black }")
    before = manifest(tmp_path)["site.css"]
    old_url = "/" + hashed_name("site.css", before)
    (tmp_path / "site.css").write_text("body { color: navy }")
    after = manifest(tmp_path)["site.css"]
    assert after != before
    new_url = "/" + hashed_name("site.css", after)
    assert new_url != old_url and new_url.endswith(".css")
    app = HashedStaticFiles(tmp_path)  # a deploy: the process starts with the new bytes
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        fresh = await client.get(new_url)
        assert fresh.status_code == 200 and fresh.text == "body { color: navy }"
        assert fresh.headers["cache-control"] == IMMUTABLE
        stale = await client.get(old_url)
        assert stale.status_code == 302 and stale.headers["location"] == new_url
        assert stale.headers["cache-control"] == "no-cache"
        assert (await client.get("/site.0123456789ab.css")).status_code == 302
        assert (await client.get("/site.css")).text == "body { color: navy }"
