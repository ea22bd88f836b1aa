"""Issue 19's journey: the composer warns before saving. With JavaScript on, the warning appears in place while
typing (kind and line, never the value), a button selects the line, submitting asks first and "post anyway"
saves a post that is held for review. With JavaScript off, submitting shows the same question as a confirmation
step. axe checks every page with the warning shown, vnu every document."""

from __future__ import annotations

import re
import uuid

from playwright.async_api import expect

FNR = "30108299920"  # Skatteetaten's test number


async def test_journey_composer_warns_about_a_national_id_before_saving(checks, site):
    author = await checks.visitor("author-js")
    page = author.page
    await author.sign_in(site.users["helper"])
    await author.goto(f"/t/{site.topic['id']}/{site.topic['slug']}")
    box = page.locator("#reply-body-warnings")
    await expect(box).to_be_hidden()
    marker = uuid.uuid4().hex[:6]
    text = f"Lønnen går ikke gjennom ({marker}).\nFødselsnummer {FNR} blir avvist.\nHva gjør jeg?"
    await page.locator("#composer textarea").fill(text)
    await expect(box).to_be_visible(timeout=10_000)  # the live check after typing
    await expect(box).to_contain_text("fødselsnummer")
    await expect(box).to_contain_text("linje 2")
    await expect(box).not_to_contain_text(FNR)
    await author.check()
    await author.shot("warning-live")

    await box.get_by_role("button", name="Marker linje 2").click()
    selected = await page.evaluate("() => { const t = document.querySelector('#composer textarea');"
                                   " return t.value.slice(t.selectionStart, t.selectionEnd); }")
    assert FNR in selected and "\n" not in selected

    await page.locator("#composer textarea").fill(f"Et vanlig spørsmål uten tall ({marker}).")
    await expect(box).to_be_hidden(timeout=10_000)

    await page.locator("#composer textarea").fill(text)
    await page.locator("#composer").get_by_role("button", name="Send svar").click()
    await expect(box).to_be_visible()
    await expect(box).to_be_focused()
    await expect(page.locator("article.post", has_text=marker)).to_have_count(0)  # not saved
    await author.check()

    await box.get_by_role("button", name=re.compile("^Publiser likevel")).click()
    await expect(page.locator("#composer textarea")).to_have_value("", timeout=10_000)  # saved (201), held
    await expect(box).to_be_hidden()
    await author.goto("/notifications")
    await expect(page.locator("main")).to_contain_text("fødselsnummer")  # told why it is hidden, not the value
    await expect(page.locator("main")).not_to_contain_text(FNR)
    reader = await checks.visitor("reader")
    await reader.goto(f"/t/{site.topic['id']}/{site.topic['slug']}")
    await expect(reader.page.locator("body")).not_to_contain_text(FNR)
    await expect(reader.page.locator("body")).not_to_contain_text(marker)
    await checks.finish()


async def test_journey_without_javascript_submitting_shows_a_confirmation_step(checks, site):
    visitor = await checks.visitor("author-nojs", js=False)
    page = visitor.page
    await visitor.sign_in(site.users["member"])
    await visitor.goto(f"/c/{site.categories['questions']}/new")
    title = f"Feriepenger {uuid.uuid4().hex[:6]}"
    await page.get_by_label("Tittel", exact=True).fill(title)
    await page.locator("#f-body").fill(f"Kontonummer 1503.12.34562 og fødselsnummer {FNR}\nhører til Ola.")
    await visitor.follow(page.get_by_role("button", name="Opprett emne"))
    box = page.locator("#f-body-warnings")
    await expect(box).to_be_visible()
    await expect(box).to_contain_text("fødselsnummer")
    await expect(box.locator("li")).to_have_count(2)
    await expect(box).not_to_contain_text(FNR)
    await expect(page.locator("#f-body")).to_have_value(re.compile(FNR))  # the text is kept for editing
    await visitor.shot("confirmation-step")

    await visitor.follow(box.get_by_role("button", name=re.compile("^Publiser likevel")))
    await expect(page.get_by_role("heading", level=1)).to_have_text(title)
    reader = await checks.visitor("reader-nojs", js=False)
    await reader.goto(page.url.replace(site.base_url, ""))
    await expect(reader.page.locator("body")).not_to_contain_text(FNR)
    await checks.finish()
