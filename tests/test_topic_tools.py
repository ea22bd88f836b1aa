"""Staff move and rename topics from the topic page (the API does the same through PATCH)."""

from __future__ import annotations

from forum.models import Topic
from tests.conftest import new_category, new_topic


async def test_staff_renames_and_moves_a_topic_from_its_page(staff, participant, category):
    created = await new_topic(participant, category.slug, title="Gammel tittel her")
    target = await new_category()
    page = (await staff.get(f"/t/{created['id']}", follow_redirects=True)).text
    assert 'name="category"' in page and target.slug in page
    token = await staff.form_token("/settings")
    moved = await staff.post(f"/t/{created['id']}/moderate", data={
        "csrf_token": token, "title": "Ny og bedre tittel", "category": target.slug})
    assert moved.status_code == 303 and "ny-og-bedre-tittel" in moved.headers["location"]
    topic = await Topic.get(id=created["id"])
    assert (topic.title, topic.category_id) == ("Ny og bedre tittel", target.id)
    same = await staff.post(f"/t/{created['id']}/moderate", data={
        "csrf_token": token, "title": "Ny og bedre tittel", "category": target.slug})
    assert same.status_code == 303


async def test_a_bad_rename_is_refused_and_changes_nothing(staff, participant, category):
    created = await new_topic(participant, category.slug, title="Tittel som består")
    token = await staff.form_token("/settings")
    for data in ({"title": "kort"}, {"title": "x" * 201}, {"title": "Gyldig tittel", "category": "finnes-ikke"}):
        response = await staff.post(f"/t/{created['id']}/moderate", data={"csrf_token": token, **data})
        assert 400 <= response.status_code < 500, data
    topic = await Topic.get(id=created["id"])
    assert (topic.title, topic.category_id) == ("Tittel som består", category.id)


async def test_members_get_no_topic_tools(participant, category):
    created = await new_topic(participant, category.slug)
    page = (await participant.get(f"/t/{created['id']}", follow_redirects=True)).text
    assert "f-topic-category" not in page
    token = await participant.form_token("/settings")
    refused = await participant.post(f"/t/{created['id']}/moderate", data={"csrf_token": token,
                                                                          "title": "Kapret tittel"})
    assert refused.status_code in (403, 404)
    assert (await Topic.get(id=created["id"])).title != "Kapret tittel"
