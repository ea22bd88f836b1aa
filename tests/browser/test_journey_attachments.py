"""Issue 22's journeys: a picture pasted into the composer gets its alt text and is posted and shown; with
JavaScript off the file field does the same. axe checks the pages (a picture without alt text is a defect it
reports), vnu every document."""

from __future__ import annotations

import uuid

from playwright.async_api import expect

from tests import attachment_images as imgs

PASTE = """async () => {
  const canvas = document.createElement("canvas");
  canvas.width = 320; canvas.height = 120;
  const g = canvas.getContext("2d");
  g.fillStyle = "#fff"; g.fillRect(0, 0, 320, 120);
  g.fillStyle = "#c00"; g.fillRect(10, 10, 100, 100);
  const blob = await new Promise(resolve => canvas.toBlob(resolve, "image/png"));
  const transfer = new DataTransfer();
  transfer.items.add(new File([blob], "image.png", {type: "image/png"}));
  const textarea = document.querySelector("#composer textarea");
  textarea.focus();
  textarea.dispatchEvent(new ClipboardEvent("paste", {clipboardData: transfer, bubbles: true, cancelable: true}));
  return document.querySelector("#attachment-1").files.length;
}"""


async def _shown(page, alt: str) -> None:
    picture = page.get_by_role("img", name=alt)
    await expect(picture).to_be_visible()
    loaded = await picture.evaluate("img => img.complete && img.naturalWidth > 0")
    assert loaded


async def test_journey_paste_a_picture_give_it_alt_text_and_see_it(checks, site):
    author = await checks.visitor("author-js")
    page = author.page
    await author.sign_in(site.users["helper"])
    await author.goto(f"/t/{site.topic['id']}/{site.topic['slug']}")
    marker = uuid.uuid4().hex[:6]
    await page.locator("#composer textarea").fill(f"Slik ser feilen ut ({marker}).")
    assert await page.evaluate(PASTE) == 1
    alt = page.locator("#attachment-alt-1")
    await expect(alt).to_be_focused()  # the pasted picture asks for its description at once
    alt_text = f"Rød firkant på hvit bakgrunn {marker}"
    await alt.fill(alt_text)
    await author.check()
    await author.follow(page.locator("#composer").get_by_role("button", name="Send svar"))
    await _shown(page, alt_text)
    await expect(page.locator("article.post", has_text=marker)).to_have_count(1)
    await author.shot("pasted-picture")
    reader = await checks.visitor("reader")
    await reader.goto(page.url.replace(site.base_url, ""))
    await _shown(reader.page, alt_text)
    await checks.finish()


async def test_journey_without_javascript_the_file_field_attaches_a_picture(checks, site):
    visitor = await checks.visitor("author-nojs", js=False)
    page = visitor.page
    await visitor.sign_in(site.users["member"])
    await visitor.goto(f"/t/{site.topic['id']}/{site.topic['slug']}")
    marker = uuid.uuid4().hex[:6]
    await page.locator("#composer textarea").fill(f"Uten JavaScript ({marker}).")
    await page.get_by_label("Fil:", exact=False).set_input_files(
        files=[{"name": "skjerm.png", "mimeType": "image/png", "buffer": imgs.text_image(["Skjermbilde"])}])
    alt_text = f"Skjermbilde med teksten Skjermbilde {marker}"
    await page.get_by_label("Hva bildet viser", exact=False).fill(alt_text)
    await visitor.follow(page.locator("#composer").get_by_role("button", name="Send svar"))
    await _shown(page, alt_text)
    await visitor.shot("file-field")
    reader = await checks.visitor("reader-js")  # axe on the page with the picture
    await reader.goto(page.url.replace(site.base_url, ""))
    await _shown(reader.page, alt_text)
    await checks.finish()
