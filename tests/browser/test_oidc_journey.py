"""Sign-in with the company's identity provider, in Chromium: the real provider (tests/oidc_provider.py, npm
`oidc-provider`) and a forum of its own under uvicorn with FORUM_OIDC_* set, both on 127.0.0.1.

The forum's pages are checked as in every journey (axe on each, vnu at the end); the provider's own pages
(its development login and logout screens) are not the forum's, so they are neither axe-checked nor sent to vnu.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from playwright.async_api import expect

from tests.browser.conftest import ARTIFACTS, _free_port, served_site
from tests.browser.journey import Checks
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, OpenIdProvider

EXACT = {"exact": True}


@pytest.fixture(scope="module")
def oidc_site(browser_tools, tmp_path_factory):
    """A provider, and a forum that signs in through it (back-channel logout pointed at the forum)."""
    folder = tmp_path_factory.mktemp("oidc-site")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    provider = OpenIdProvider(folder, base_url, backchannel_uri=f"{base_url}/auth/oidc/backchannel-logout")
    provider.start()
    env = dict(FORUM_SECRET_KEY="browser-oidc-secret-" + "x" * 40, FORUM_ARGON2_PROFILE="cheapest",
               FORUM_RATE_LIMITS="off", FORUM_EMAIL_VERIFICATION="off", FORUM_DEFAULT_LOCALE="nb",
               FORUM_PUBLIC_URL=base_url, FORUM_OIDC_ISSUER=provider.issuer, FORUM_OIDC_CLIENT_ID=CLIENT_ID,
               FORUM_OIDC_CLIENT_SECRET=CLIENT_SECRET)
    try:
        with served_site(folder, port, env, "the OIDC browser site") as site:
            site.provider = provider
            yield site
    finally:
        provider.stop()


async def forum_pages_only(checks: Checks, site) -> None:
    """vnu checks the forum's documents; the provider's pages are the provider's."""
    await asyncio.gather(*checks._tasks, return_exceptions=True)
    checks.documents = {k: v for k, v in checks.documents.items() if v[0].startswith(site.base_url + "/")}


async def test_journey_sign_in_with_the_company_account_consent_and_post(request, browser, oidc_site):
    """Button → the provider's login page → back signed in (a new account) → consent → a question posted →
    sign out, which also signs out at the provider (RP-initiated logout), and the provider's back-channel call."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    checks = Checks(browser, oidc_site, ARTIFACTS, request.node.name)
    try:
        person = await checks.visitor("employee")
        page = person.page
        await person.goto("/login")
        button = page.get_by_role("link", name="Logg inn med bedriftskontoen")
        await expect(button).to_be_visible()
        await person.shot("sign-in-page")
        async with page.expect_navigation():
            await button.click()
        assert page.url.startswith(oidc_site.provider.issuer)  # the provider's own login page
        account = f"kari{uuid.uuid4().hex[:6]}"
        await page.locator('input[name="login"]').fill(account)
        await page.locator('input[name="password"]').fill("any password")
        async with page.expect_navigation(url=f"{oidc_site.base_url}/**"):
            await page.locator('button[type="submit"]').click()
        await page.wait_for_url(f"{oidc_site.base_url}/consent**")
        await person.check()
        await person.shot("consent-after-provider")

        await page.locator("#agree").check()
        await person.follow(page.get_by_role("button", name="Gi samtykke"))
        await person.goto(f"/c/{oidc_site.categories['questions']}")
        await person.follow(page.get_by_role("link", name="Nytt emne"))
        title = f"Hvordan logger jeg inn med bedriftskontoen? {uuid.uuid4().hex[:6]}"
        await page.get_by_label("Tittel", **EXACT).fill(title)
        await page.get_by_label("Spørsmål", **EXACT).check()
        await page.locator("#f-body").fill("Jeg kom inn med **bedriftskontoen**. Hva nå?")
        await person.follow(page.get_by_role("button", name="Opprett emne"))
        await expect(page.get_by_role("heading", level=1)).to_have_text(title)
        await person.shot("question-posted")

        # sign out: the forum session ends, then the provider asks to end its own session
        await person.goto("/settings")
        await expect(page.locator("#oidc-status")).to_be_visible()
        async with page.expect_navigation(url=f"{oidc_site.provider.issuer}/**"):
            await page.get_by_role("button", name="Logg ut", **EXACT).first.click()
        async with page.expect_navigation(url=f"{oidc_site.base_url}/**"):
            await page.locator('button[autofocus], button[type="submit"]').first.click()
        await person.check()
        await expect(page.get_by_role("link", name="Logg inn")).to_be_visible()
        # the provider's session is gone too: the button asks for the login page again
        async with page.expect_navigation():
            await page.goto("/auth/oidc/login")
        assert page.url.startswith(oidc_site.provider.issuer) and "/interaction/" in page.url
        await forum_pages_only(checks, oidc_site)
        await checks.finish()
    finally:
        await checks.close()


async def test_journey_the_provider_down_the_page_says_so(request, browser, oidc_site):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    checks = Checks(browser, oidc_site, ARTIFACTS, request.node.name)
    provider = oidc_site.provider
    try:
        provider.stop()
        await asyncio.sleep(5.5)  # the forum asks the provider again after 5 s (forum/services/oidc_provider.py)
        person = await checks.visitor("visitor")
        page = person.page
        await person.goto("/login")
        await expect(page.locator("#oidc-unavailable")).to_be_visible()
        await expect(page.locator("#oidc-sign-in")).to_have_count(0)
        await person.sign_in(oidc_site.users["helper"])  # passwords still work
        await person.shot("provider-down-password-works")
        await checks.finish()
    finally:
        if provider.process is None:
            provider.start()
        await checks.close()


