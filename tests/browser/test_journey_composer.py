"""Issue 25's journeys: similar questions appear while the title is typed, a reply draft survives closing the tab,
and a mention is picked from the suggestions with the keyboard. axe checks each page in the states shown (the
suggestions open, the similar topics shown), vnu every document."""

from __future__ import annotations

import re
import uuid

from playwright.async_api import expect

EXACT = {"exact": True}


async def test_journey_similar_questions_appear_while_typing_the_title(checks, site):
    asker = await checks.visitor("asker")
    page = asker.page
    await asker.sign_in(site.users["author"])
    await asker.goto(f"/c/{site.categories['questions']}/new")
    box = page.locator("#similar-topics")
    await expect(box).to_be_hidden()
    title = page.get_by_label("Tittel", **EXACT)
    await title.press_sequentially("Eksport a", delay=20)  # nine characters: too few to look
    await page.wait_for_timeout(600)
    await expect(box).to_be_hidden()
    await title.press_sequentially("v fakturaene til regnskapet", delay=20)
    await expect(box).to_be_visible(timeout=10_000)
    link = box.get_by_role("link", name=site.topic["title"])
    await expect(link).to_have_attribute("href", f"/t/{site.topic['id']}/{site.topic['slug']}")
    await expect(box).to_contain_text("Spørsmål")  # the category
    await asker.check()
    await asker.shot("similar-while-typing")

    # the new topic's draft is saved as it is typed
    await expect(page.locator("form .draft-status")).to_have_text("Utkast lagret", timeout=10_000)

    await title.fill(f"Noe helt annet {uuid.uuid4().hex[:8]} {uuid.uuid4().hex[:8]}")
    await expect(box).to_be_hidden(timeout=10_000)
    await empty_the_draft(page, title)
    await checks.finish()


async def empty_the_draft(page, field) -> None:
    """Emptied, the draft is deleted on the server (none left behind for the other journeys)."""
    async with page.expect_response(lambda r: r.url.endswith("/api/v1/drafts") and r.request.method == "PUT",
                                    timeout=10_000) as saved:
        await field.fill("")
    response = await saved.value
    assert response.ok and (await response.json())["saved"] is False


async def test_journey_a_reply_draft_survives_closing_the_tab(checks, site):
    writer = await checks.visitor("writer")
    page = writer.page
    await writer.sign_in(site.users["author"])
    topic_path = f"/t/{site.topic['id']}/{site.topic['slug']}"
    await writer.goto(topic_path)
    marker = uuid.uuid4().hex[:8]
    text = f"Et langt svar som ikke er ferdig ennå ({marker})."
    await page.locator("#composer textarea").press_sequentially(text, delay=5)
    await expect(page.locator("#composer .draft-status")).to_have_text("Utkast lagret", timeout=10_000)
    await page.close()  # the tab is closed

    again = await writer.context.new_page()
    writer.page = again
    await writer.goto(topic_path)
    await expect(again.locator("#composer textarea")).to_have_value(text)
    await expect(again.locator("#composer")).to_contain_text("Utkastet ditt er hentet fram igjen.")
    await writer.check()
    await writer.shot("draft-restored")
    await writer.goto("/drafts")
    await expect(again.locator(".draft-list")).to_contain_text(marker)
    await writer.check()
    await writer.follow(again.locator(".draft-list").get_by_role("button", name="Slett utkast"))
    await expect(again.locator("main")).to_contain_text("Du har ingen utkast.")
    other = await checks.visitor("someone-else")
    await other.sign_in(site.users["helper"])
    await other.goto("/drafts")
    await expect(other.page.locator("main")).not_to_contain_text(marker)
    await checks.finish()


async def test_journey_a_mention_is_picked_with_the_keyboard(checks, site):
    writer = await checks.visitor("mentioner")
    page = writer.page
    await writer.sign_in(site.users["author"])
    await writer.goto(f"/t/{site.topic['id']}/{site.topic['slug']}")
    textarea = page.locator("#composer textarea")
    await textarea.press_sequentially("Takk @Ka", delay=30)
    listbox = page.get_by_role("listbox")
    await expect(listbox).to_be_visible(timeout=10_000)
    option = listbox.get_by_role("option", name=re.compile("^@Kari_Hjelper"))
    await expect(option).to_have_attribute("aria-selected", "true")
    await expect(textarea).to_have_attribute("aria-activedescendant", await option.get_attribute("id"))
    await expect(textarea).to_have_attribute("aria-controls", await listbox.get_attribute("id"))
    await writer.check()  # axe with the suggestions open
    await writer.shot("mention-suggestions")
    await page.keyboard.press("Escape")
    await expect(listbox).to_be_hidden()
    await textarea.press_sequentially("r", delay=30)  # "@Kar": suggested again
    await expect(listbox).to_be_visible(timeout=10_000)
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("ArrowUp")
    await page.keyboard.press("Enter")
    await expect(textarea).to_have_value("Takk @Kari_Hjelper ")
    await expect(listbox).to_be_hidden()
    await expect(textarea).to_be_focused()
    await expect(page.locator("#composer .draft-status")).to_have_text("Utkast lagret", timeout=10_000)
    await empty_the_draft(page, textarea)
    await checks.finish()
