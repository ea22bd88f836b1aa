"""The header's unread count follows new notifications live (server-sent events), without a reload."""

from __future__ import annotations

import re
import uuid

from playwright.async_api import expect

BADGE = '.account-nav a[href="/notifications"] .badge-count'


async def _count(page) -> int:
    badge = page.locator(BADGE)
    if await badge.count() == 0:
        return 0
    return int(re.match(r"\d+", (await badge.inner_text()).strip()).group(0))


async def test_unread_count_in_the_header_updates_live(checks, site):
    author = await checks.visitor("author")
    await author.sign_in(site.users["member"])  # the seeded topic's author: a reply notifies them
    await author.goto("/")
    before = await _count(author.page)
    url_before = author.page.url

    helper = await checks.visitor("helper")
    await helper.sign_in(site.users["helper"])
    await helper.goto(f"/t/{site.topic['id']}/{site.topic['slug']}")
    await helper.page.locator("#composer textarea").fill(f"Et svar som varsler forfatteren {uuid.uuid4().hex[:6]}.")
    await helper.page.locator("#composer").get_by_role("button", name="Send svar").click()

    badge = author.page.locator(BADGE)
    await expect(badge).to_have_text(re.compile(rf"^{before + 1}\s*uleste$"), timeout=15_000)
    assert author.page.url == url_before  # no reload
    await expect(badge.locator(".visually-hidden")).to_have_text(" uleste")
    await author.check()
    await author.shot("unread-count-arrived-live")

    # reading them elsewhere (another tab) empties the badge here too
    await author.goto("/notifications")
    other_tab = await author.context.new_page()
    await other_tab.goto("/")
    await author.page.get_by_role("button", name=re.compile("Merk alle som lest|Mark all as read")).click()
    await expect(other_tab.locator(BADGE)).to_have_count(0, timeout=15_000)
    await other_tab.close()
    await checks.finish()
