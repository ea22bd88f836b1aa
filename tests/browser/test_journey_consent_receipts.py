"""Consent receipts in Chromium (issue 24): give consent, download the receipt, check it on the verify page,
withdraw the mail purpose only, and keep taking part."""

from __future__ import annotations

import uuid
from pathlib import Path

from playwright.async_api import expect


async def test_journey_consent_receipt_download_verify_and_withdraw_mail_only(checks, site):
    person = await checks.visitor("person")
    page = person.page
    username = f"Kvittering_{uuid.uuid4().hex[:8]}"
    await person.register_and_consent(username)

    # the dashboard: taking part given, mail not; give mail on its own
    await person.goto("/consent")
    await expect(page.locator("#purpose-forum .purpose-status")).to_have_attribute("data-status", "granted")
    await expect(page.locator("#purpose-mail .purpose-status")).to_have_attribute("data-status", "none")
    await page.locator("#agree-mail").check()
    await person.follow(page.get_by_role("button", name="Gi dette samtykket"))
    await expect(page.locator("#purpose-mail .purpose-status")).to_have_attribute("data-status", "granted")
    await expect(page.locator("table.receipts tbody tr")).to_have_count(2)
    await person.shot("dashboard")

    # download the newest receipt (mail, given), read it as the member would keep it
    async with page.expect_download() as info:
        await page.locator("table.receipts tbody tr").first.get_by_role("link", name="Last ned").click()
    download = await info.value
    kept = Path(await download.path()).read_text(encoding="utf-8")  # noqa: ASYNC240 (a small local file)
    assert '"jws"' in kept and "dpv:ConsentReceipt" in kept and username not in kept

    # the human-readable receipt
    await person.follow(page.locator("table.receipts tbody tr").first.get_by_role("link", name="Vis"))
    await expect(page.get_by_role("heading", name="Samtykkekvittering")).to_be_visible()
    await person.shot("receipt")

    # anyone can check it: paste the file on the verify page
    await person.follow(page.get_by_role("link", name="Sjekk en kvittering"))
    await page.get_by_label("Kvittering", exact=True).fill(kept)
    await person.follow(page.get_by_role("button", name="Sjekk", exact=True))
    result = page.locator("#verify-result")
    await expect(result).to_have_attribute("data-valid", "yes")
    await expect(result).to_have_attribute("data-ledger", "yes")
    await expect(result).to_contain_text("Ekte")
    await person.shot("verified")

    # withdraw the mail purpose only
    await person.goto("/consent")
    await person.follow(page.locator("#purpose-mail").get_by_role("button", name="Trekk tilbake dette samtykket"))
    await expect(page.locator("#purpose-mail .purpose-status")).to_have_attribute("data-status", "withdrawn")
    await expect(page.locator("#purpose-forum .purpose-status")).to_have_attribute("data-status", "granted")

    # and keep taking part
    await person.goto(f"/t/{site.topic['id']}/{site.topic['slug']}")
    text = f"Fortsatt med etter at e-posten er av {uuid.uuid4().hex[:6]}"
    await page.locator("#composer textarea").fill(text)
    await page.locator("#composer").get_by_role("button", name="Send svar").click()
    await expect(page.locator("article.post", has_text=text)).to_be_visible()
    await checks.finish()
