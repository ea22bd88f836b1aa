"""Bad input gets a clean 4xx in the documented shape: regressions found by fuzzing, then property tests."""

from __future__ import annotations

from forum.models import Category
from tests.conftest import new_category, new_topic


def assert_error_shape(response, status: int | None = None) -> None:
    """The documented error shape: `{"error": {"code", "message"[, "fields"]}}` under /api, a page elsewhere."""
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if status is not None:
        assert response.status_code == status, response.text[:300]
    if response.request.url.path.startswith("/api/"):
        assert response.headers["content-type"].startswith("application/json")
        error = response.json()["error"]
        assert isinstance(error["code"], str) and error["code"]
        assert isinstance(error["message"], str) and error["message"]
        assert set(error) <= {"code", "message", "fields"}
        if "fields" in error:
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in error["fields"].items())
    else:
        assert response.headers["content-type"].startswith("text/html")
        assert "Traceback" not in response.text


async def test_an_id_beyond_32_bits_is_not_found_rather_than_a_server_error(anon):
    # found by schemathesis: overflowed the integer column (500)
    for path in ("/api/v1/topics/1607508137320139194368?page=7565", "/api/v1/topics/0",
                 "/api/v1/posts/2147483648/revisions", "/t/99999999999999999999999/x", "/p/18446744073709551616"):
        response = await anon.get(path)
        assert response.status_code == 404, (path, response.status_code)
        assert "Traceback" not in response.text


async def test_a_long_slug_is_not_cut_short_to_name_another_category(admin):
    # found by schemathesis: /categories/<slug + 200 more characters> edited the category `slug`
    category = await new_category()
    long_slug = category.slug + "0" * 200
    assert (await admin.get(f"/c/{long_slug}")).status_code == 404
    response = await admin.api("PATCH", f"/api/v1/categories/{long_slug}", {"name": "Renamed"})
    assert_error_shape(response, 404)
    assert (await Category.get(id=category.id)).name != "Renamed"


async def test_writes_without_a_body_need_no_content_type_but_a_body_must_be_json(participant, category):
    topic = await new_topic(participant, category.slug)
    liked = await participant.request("POST", f"/api/v1/posts/{topic['first_post_id']}/like",
                                      headers={"X-CSRF-Token": participant.csrf})
    assert liked.status_code in (200, 403), liked.text  # 403: one may not like one's own post
    assert liked.json().get("error", {}).get("code") != "unsupported_media_type"
    as_text = await participant.request("POST", f"/api/v1/topics/{topic['id']}/posts", content=b'{"body": "x"}',
                                        headers={"X-CSRF-Token": participant.csrf, "content-type": "text/plain"})
    assert_error_shape(as_text, 400)
    assert as_text.json()["error"]["code"] == "unsupported_media_type"


async def test_query_parameters_are_checked_against_the_document(anon):
    for path, name in (("/api/v1/consent?locale=xx", "locale"), ("/api/v1/search?solved=maybe", "solved"),
                       ("/api/v1/search?q=" + "a" * 201, "q")):
        response = await anon.get(path)
        assert_error_shape(response, 400)
        assert name in response.json()["error"]["fields"]
