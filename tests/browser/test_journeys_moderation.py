"""Journeys (3) flags and the moderation queue, and (4) withdrawing consent, in Chromium with axe and vnu on
every page. Controls whose words are not translated yet are found by structure (value, href), not by text."""

from __future__ import annotations

import re
import uuid

from playwright.async_api import expect


async def _flag(visitor, post_id: int, *, reason: str = "spam") -> None:
    """Opens the post's flag form (its own page) by keyboard, picks a reason and sends it."""
    await visitor.goto(f"/p/{post_id}")
    article = visitor.page.locator("article.post", has=visitor.page.locator(f'a[href="/p/{post_id}/flag"]'))
    await visitor.follow(article.locator(f'a[href="/p/{post_id}/flag"]'), key="Enter")  # the post's flag form
    await visitor.page.locator(f'input[name="reason"][value="{reason}"]').check()
    await visitor.check()
    await visitor.follow(visitor.page.locator('.flag-form button[type="submit"]'))
    await expect(visitor.page.locator("p.notice[role=status]")).to_be_visible()


async def test_journey_flags_hide_a_post_and_a_moderator_restores_it_after_an_appeal(checks, site):
    """(3) a member flags a post, two more flag it and it hides; the author is notified and appeals; a moderator
    restores it from the queue; the author is told the outcome."""
    author = await checks.visitor("author")
    await author.sign_in(site.users["author"])
    await author.goto(f"/t/{site.topic['id']}/{site.topic['slug']}")
    text = f"Dette svaret blir flagget {uuid.uuid4().hex[:6]}"
    await author.page.locator("#composer textarea").fill(text)
    await author.page.locator("#composer").get_by_role("button", name="Send svar").click()
    mine = author.page.locator("article.post", has_text=text)
    await expect(mine).to_be_focused()
    action = await mine.locator('button[formaction$="/delete"]').get_attribute("formaction")
    post_id = int(re.search(r"/p/(\d+)/", action)[1])

    for n, key in enumerate(("flagger1", "flagger2", "flagger3"), start=1):
        flagger = await checks.visitor(key, js=(n != 2))  # the second flag is sent with JavaScript off
        await flagger.sign_in(site.users[key])
        await _flag(flagger, post_id)
        if n == 1:
            await flagger.shot("flagged")

    reader = await checks.visitor("reader")
    await reader.goto(f"/p/{post_id}")
    # the newest hidden post: another journey (the composer's warning) leaves a held one in this topic too
    hidden = reader.page.locator("article.post", has=reader.page.locator(".post-gone")).last
    await expect(hidden.locator(".post-gone")).to_contain_text("skjult")
    await expect(reader.page.locator("body")).not_to_contain_text(text)
    await reader.shot("hidden")

    await author.goto("/notifications")
    notice = author.page.locator(".notification", has=author.page.locator(f'a[href="/p/{post_id}"]')).first
    await expect(notice).to_be_visible()
    await author.follow(notice.locator(f'a[href="/p/{post_id}"]'), key="Enter")
    await author.follow(author.page.locator(f'a[href="/p/{post_id}/appeal"]'), key="Enter")
    await author.page.locator("#f-text").fill("Dette er et vanlig svar på spørsmålet, ikke reklame.")
    await author.follow(author.page.locator('main form button[type="submit"]'))
    await expect(author.page.locator("p.notice[role=status]")).to_be_visible()
    await author.shot("appealed")

    moderator = await checks.visitor("moderator")
    await moderator.sign_in(site.users["moderator"])
    await moderator.goto("/mod")
    case = moderator.page.locator("article.mod-item", has=moderator.page.locator(f'h3 a[href="/p/{post_id}"]'))
    await expect(case).to_contain_text("ikke reklame")  # the appeal is shown with the case
    await moderator.shot("queue")
    await case.locator('input[name="action"][value="restore"]').check()
    await case.locator('textarea[name="reason"]').fill("Vanlig svar, ikke spam.")
    await moderator.follow(case.locator('form.mod-actions button[type="submit"]'), key="Enter")
    await expect(moderator.page.locator(f'article.mod-item h3 a[href="/p/{post_id}"]')).to_have_count(0)

    await reader.goto(f"/p/{post_id}")
    await expect(reader.page.locator("article.post", has_text=text)).to_be_visible()
    await author.goto("/notifications")
    await expect(author.page.locator(".notification", has=author.page.locator(f'a[href="/p/{post_id}"]'))
                 ).to_have_count(2)  # hidden, then restored
    await author.shot("told-the-outcome")
    await checks.finish()


async def test_journey_withdrawing_consent_leaves_posts_by_a_former_member(checks, site):
    """(4) a participant withdraws consent on /settings, confirms, and their posts show "Former member"."""
    person = await checks.visitor("person")
    page = person.page
    username = f"Trekker_{uuid.uuid4().hex[:8]}"
    await person.register_and_consent(username)

    topic_path = f"/t/{site.topic['id']}/{site.topic['slug']}"
    await person.goto(topic_path)
    text = f"Et innlegg før jeg trekker samtykket {uuid.uuid4().hex[:6]}"
    await page.locator("#composer textarea").fill(text)
    await page.locator("#composer").get_by_role("button", name="Send svar").click()
    mine = page.locator("article.post", has_text=text)
    await expect(mine.locator(".author")).to_contain_text(username)

    await person.goto("/settings")
    await person.follow(page.locator('main a[href="/settings/withdraw"]').first, key="Enter")
    await person.shot("confirm-withdrawal")
    await person.follow(page.locator('main form button.danger[type="submit"]'), key="Enter")
    assert "/settings" in page.url and "saved=withdrawn" in page.url
    await expect(page.locator("p.notice[role=status]")).to_be_visible()

    reader = await checks.visitor("reader")
    await reader.goto(topic_path)
    post = reader.page.locator("article.post", has_text=text)
    await expect(post.locator(".author")).to_have_text("Tidligere medlem")
    await expect(reader.page.locator("body")).not_to_contain_text(username)
    await reader.follow(reader.page.get_by_role("button", name="English", exact=True))
    await expect(post.locator(".author")).to_have_text("Former member")
    await reader.shot("former-member")
    await person.goto(topic_path)  # the author sees the same, and no longer gets a composer
    await expect(page.locator("body")).not_to_contain_text(username)
    await expect(page.locator("#composer textarea")).to_have_count(0)
    await checks.finish()
