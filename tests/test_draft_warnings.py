"""Issue 19: the author is warned before saving. The preview API and the composer forms name the kind of personal
data or secret and its lines, never the value; without JavaScript, sending the form shows a confirmation step;
a post saved anyway is held for review as before; text without findings posts in one step as before."""

from __future__ import annotations

import ast
from pathlib import Path

from forum.models import Post, Topic
from tests.conftest import new_category, new_reply, new_topic

FNR = "30108299920"  # Skatteetaten's test number
ACCOUNT_TEXT = f"Hei!\n\nLønnen skal til fødselsnummer {FNR}.\nTakk."


async def test_preview_names_the_kind_and_the_line_but_not_the_value(participant):
    response = await participant.api("POST", "/api/v1/preview", {"source": ACCOUNT_TEXT})
    assert response.status_code == 200, response.text
    warnings = response.json()["warnings"]
    assert [(w["kind"], w["reason"], w["lines"]) for w in warnings] == [("national_id", "personal_data", [3])]
    assert warnings[0]["label"] and warnings[0]["help"]
    assert FNR not in str(warnings) and FNR[:6] not in str(warnings)


async def test_preview_of_ordinary_accounting_text_has_no_warnings(participant):
    source = "KID 12345678903 er betalt fra bankkontoen, faktura 20261187, org.nr 923 609 016."
    response = await participant.api("POST", "/api/v1/preview", {"source": source})
    assert response.status_code == 200 and response.json()["warnings"] == []


async def test_preview_warnings_are_in_the_viewers_language(participant):
    await participant.post_form("/settings/language", {"locale": "nb"}, token_from="/settings")
    response = await participant.api("POST", "/api/v1/preview", {"source": f"fnr {FNR}"},
                                     headers={"Accept-Language": "nb"})
    assert "fødselsnummer" in response.json()["warnings"][0]["label"]


async def test_reply_form_without_javascript_asks_before_saving_and_keeps_the_text(participant):
    category = await new_category()
    topic = await new_topic(participant, category.slug)
    before = await Post.filter(topic_id=topic["id"]).count()
    page = await participant.post_form(f"/t/{topic['id']}/reply", {"body": ACCOUNT_TEXT},
                                       token_from="/settings")
    assert page.status_code == 200
    assert 'id="reply-body-warnings"' in page.text and 'name="confirm_sensitive"' in page.text
    assert 'data-kind="national_id"' in page.text and 'data-lines="3"' in page.text
    assert page.text.count(FNR) == 1  # only in the author's own textarea, never in the warning
    assert await Post.filter(topic_id=topic["id"]).count() == before


async def test_reply_posted_anyway_is_held_for_review(participant, anon):
    category = await new_category()
    topic = await new_topic(participant, category.slug)
    saved = await participant.post_form(f"/t/{topic['id']}/reply", {"body": ACCOUNT_TEXT, "confirm_sensitive": "1"},
                                        token_from="/settings")
    assert saved.status_code == 303
    post = await Post.filter(topic_id=topic["id"]).order_by("-id").first()
    assert post.source == ACCOUNT_TEXT and post.hidden_at is not None and post.hidden_reason == "personal_data"
    assert FNR not in (await anon.get(f"/t/{topic['id']}")).text


async def test_reply_without_findings_posts_in_one_step(participant):
    category = await new_category()
    topic = await new_topic(participant, category.slug)
    saved = await participant.post_form(f"/t/{topic['id']}/reply", {"body": "Et helt vanlig svar, KID 12345678903"},
                                        token_from="/settings")
    assert saved.status_code == 303
    post = await Post.filter(topic_id=topic["id"]).order_by("-id").first()
    assert post.hidden_at is None


async def test_new_topic_form_asks_before_saving_then_holds(participant):
    category = await new_category()
    values = {"title": "Lønn til ny ansatt", "body": ACCOUNT_TEXT, "kind": "question"}
    asked = await participant.post_form(f"/c/{category.slug}/new", values, token_from=f"/c/{category.slug}/new")
    assert asked.status_code == 200 and 'id="f-body-warnings"' in asked.text
    assert not await Topic.filter(category_id=category.id).exists()
    saved = await participant.post_form(f"/c/{category.slug}/new", {**values, "confirm_sensitive": "1"},
                                        token_from=f"/c/{category.slug}/new")
    assert saved.status_code == 303
    topic = await Topic.get(category_id=category.id)
    first = await Post.get(topic_id=topic.id, number=1)
    assert first.hidden_reason == "personal_data"


async def test_edit_form_asks_before_saving(participant):
    category = await new_category()
    topic = await new_topic(participant, category.slug)
    reply = await new_reply(participant, topic["id"], body="Første versjon")
    asked = await participant.post_form(f"/p/{reply['id']}/edit", {"body": ACCOUNT_TEXT},
                                        token_from=f"/p/{reply['id']}/edit")
    assert asked.status_code == 200 and 'id="f-body-warnings"' in asked.text
    assert (await Post.get(id=reply["id"])).source == "Første versjon"
    saved = await participant.post_form(f"/p/{reply['id']}/edit", {"body": ACCOUNT_TEXT, "confirm_sensitive": "1"},
                                        token_from=f"/p/{reply['id']}/edit")
    assert saved.status_code == 303
    assert (await Post.get(id=reply["id"])).hidden_reason == "personal_data"


async def test_json_api_saves_and_holds_as_before_without_a_confirmation_step(participant):
    category = await new_category()
    topic = await new_topic(participant, category.slug)
    created = await new_reply(participant, topic["id"], body=ACCOUNT_TEXT)
    assert (await Post.get(id=created["id"])).hidden_reason == "personal_data"


def test_the_forum_reaches_the_detectors_only_through_the_post_checking_event():
    """Only the app factory (moderation's `install`) and the migrations (its models) name moderation; every other
    forum module, the composer's warnings included, reaches it through events."""
    root = Path(__file__).resolve().parent.parent / "forum"
    for path in root.rglob("*.py"):
        if path == root / "app.py" or path.parent.name == "migrations":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("moderation"), path
            if isinstance(node, ast.Import):
                assert not any(alias.name.startswith("moderation") for alias in node.names), path


async def test_composer_pages_render_an_empty_hidden_warning_box(participant):
    category = await new_category()
    topic = await new_topic(participant, category.slug)
    reply = await new_reply(participant, topic["id"], body="Et svar")
    for path in (f"/c/{category.slug}/new", f"/p/{reply['id']}/edit"):
        page = await participant.get(path)
        assert page.status_code == 200 and 'id="f-body-warnings"' in page.text and "hidden" in page.text
    page = await participant.get(f"/t/{topic['id']}", follow_redirects=True)
    assert page.status_code == 200 and 'id="reply-body-warnings"' in page.text
