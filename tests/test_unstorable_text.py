"""Text a database cannot store (NUL characters) in paths and queries is bad input: a 4xx, never a 500."""

from __future__ import annotations

PATHS = ("/u/%00", "/u/a%00b", "/c/%00", "/search?q=%00a", "/api/v1/search?q=a%00", "/api/v1/categories/%00/topics",
         "/t/1/%00", "/api/v1/search?q=x&category=%00")


async def test_nul_characters_in_paths_and_queries_are_refused_cleanly(anon, participant):
    for client in (anon, participant):
        for path in PATHS:
            response = await client.get(path)
            assert response.status_code < 500, (path, response.status_code)  # search drops control characters
    api = await anon.get("/api/v1/categories/%00/topics")
    assert 400 <= api.status_code < 500 and "code" in api.json()["error"]
