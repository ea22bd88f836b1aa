"""The mail journey in Chromium: register, confirm the address from the maildir (the embedded default: no
FORUM_SMTP_URL), turn reply mail on, get the mail when someone answers, unsubscribe with one click."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import uuid

from playwright.async_api import expect

EXACT = {"exact": True}


async def _mail(site, address: str, contains: str, *, within: float = 20.0):
    """The newest mail to `address` in the server's maildir whose text contains `contains`."""
    maildir = site.log.parent / "forum.sqlite3.maildir" / "new"
    for _ in range(int(within * 10)):
        for path in sorted(maildir.glob("*")) if maildir.is_dir() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            body = message.get_body(("plain",)).get_content()
            if message["To"] == address and contains in body:
                assert str(path) in site.log.read_text()  # the server log names the file
                return message, body
        await asyncio.sleep(0.1)
    raise AssertionError(f"no mail to {address} with {contains!r} in {maildir}")


async def test_journey_mail_from_confirmation_to_unsubscribe(checks, site):
    newcomer = await checks.visitor("newcomer")
    page = newcomer.page
    name = "Post_" + uuid.uuid4().hex[:8]
    address = f"{name.lower()}@example.test"
    await newcomer.goto("/register")
    await page.get_by_label("Brukernavn", **EXACT).fill(name)
    await page.get_by_label("E-post", **EXACT).fill(address)
    await page.get_by_label("Passord", **EXACT).fill("et langt og godt passord")
    await newcomer.follow(page.get_by_role("button", name="Opprett konto"), key="Enter")

    # the confirmation link, from the file the server wrote
    _message, body = await _mail(site, address, "/email/confirm/")
    link = re.search(r"(/email/confirm/[A-Za-z0-9_\-]+)", body).group(1)
    await newcomer.goto(link)
    await newcomer.follow(page.get_by_role("button", name="Bekreft adressen min"), key="Enter")
    await expect(page.locator("p[role=status]")).to_contain_text("bekreftet")
    await newcomer.shot("address-confirmed")

    # consent, then turn on mail about replies (each kind is explained on the page)
    await newcomer.goto("/consent")
    await page.locator("#agree").check()
    await newcomer.follow(page.get_by_role("button", name="Gi samtykke"))
    await newcomer.goto("/settings")
    await expect(page.locator("#mail")).to_contain_text("Svar på emnene og innleggene dine.")
    await page.locator("#mail").get_by_label("Svar", **EXACT).check()
    await newcomer.follow(page.get_by_role("button", name="Lagre e-postvalg"))
    await expect(page.locator("#mail p[role=status]")).to_be_visible()
    await newcomer.shot("mail-choices")

    await newcomer.goto(f"/c/{site.categories['questions']}/new")
    title = f"Får jeg e-post når noen svarer? {uuid.uuid4().hex[:6]}"
    await page.get_by_label("Tittel", **EXACT).fill(title)
    await page.locator("#f-body").fill("Jeg vil vite når noen svarer på dette.")
    await newcomer.follow(page.get_by_role("button", name="Opprett emne"))
    question_url = page.url

    helper = await checks.visitor("helper")
    await helper.sign_in(site.users["helper"])
    await helper.goto(question_url)
    await helper.page.locator("#composer textarea").fill("Ja, hvis du har slått det på i innstillingene.")
    await helper.page.locator("#composer").get_by_role("button", name="Send svar").click()
    await expect(helper.page.locator("#post-2")).to_contain_text("innstillingene")

    message, body = await _mail(site, address, "innstillingene")
    assert "Nytt svar" in message["Subject"] and message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.search(r"(/mail/unsubscribe/[^>\s]+)", message["List-Unsubscribe"]).group(1)

    # one click, signed out (a mail client would POST the same URL)
    reader = await checks.visitor("reader")
    await reader.goto(unsubscribe)
    await reader.follow(reader.page.get_by_role("button", name="Meld av", **EXACT), key="Enter")
    await expect(reader.page.locator("p[role=status]")).to_contain_text("Du får ikke mer e-post av denne typen.")
    await reader.shot("unsubscribed")
    await newcomer.goto("/settings")
    await expect(page.locator("#mail").get_by_label("Svar", **EXACT)).not_to_be_checked()
    await checks.finish()
