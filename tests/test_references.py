"""Mentions and quotes are resolved by one resolver (forum.services.cooking.resolve_references): a post cooked
when it is written and the same post re-cooked later (after a rename or a withdrawal) come out the same."""

from __future__ import annotations

from forum import db
from forum.models import Post
from forum.services.cooking import recook_many
from tests.conftest import new_category, new_reply, new_topic


async def test_a_new_post_and_its_recook_resolve_mentions_and_quotes_alike(participant, make_user, staff, category):
    other = await make_user()
    topic = await new_topic(other, category.slug)
    hidden_area = await new_category(read="staff", start_topics="staff")
    staff_topic = await new_topic(staff, hidden_area.slug, kind="training")
    body = (f"Hei @{other.user['username']} og @{other.user['username'].upper()} og @ingenslik\n\n"
            f"[quote post={topic['first_post_id']}]\nSitat\n[/quote]\n\n"
            f"[quote post={staff_topic['first_post_id']}]\nHemmelig\n[/quote]\n")
    reply = await new_reply(participant, topic["id"], body)
    stored = await Post.get(id=reply["id"])
    assert f"/u/{other.user['username']}" in stored.cooked and "/u/ingenslik" not in stored.cooked
    assert f"/p/{topic['first_post_id']}" in stored.cooked
    assert f"/p/{staff_topic['first_post_id']}" not in stored.cooked  # the author cannot read it: no attribution
    rows = [{"id": stored.id, "author_id": stored.author_id, "source": stored.source}]
    conn = db.connection()
    assert (await recook_many(rows, conn))[stored.id] == stored.cooked


async def test_a_large_recook_is_spread_over_the_cooking_processes_with_the_same_result(monkeypatch):
    """A withdrawal re-cooks its 1,000 mentioning posts in one part per cooking process (`cook_stored`): the
    same HTML for every post as one trip; a small re-cook stays one trip."""
    from forum import cook_pool
    from forum.services import cooking
    from forum.services.cooking import SPREAD_AT, Recook, cook_stored

    jobs = tuple((n, f"Post **{n}** med [lenke](https://example.com/{n}) og `kode`.", {}, {})
                 for n in range(SPREAD_AT * 2 + 3))
    was_running = cook_pool.running()
    cook_pool.stop()
    cook_pool.start(2)
    trips: list[int] = []
    real_run = cook_pool.run

    async def run(fn, *args, **kwargs):
        trips.extend(len(a.jobs) for a in args if isinstance(a, Recook))
        return await real_run(fn, *args, **kwargs)

    monkeypatch.setattr(cooking.cook_pool, "run", run)
    try:
        assert await cook_stored(Recook(jobs)) == Recook(jobs).cook()
        assert trips == [SPREAD_AT + 2, SPREAD_AT + 1]
        trips.clear()
        assert len(await cook_stored(Recook(jobs[:SPREAD_AT]))) == SPREAD_AT and trips == [SPREAD_AT]
    finally:
        cook_pool.stop()
        if was_running:
            cook_pool.start(2)
