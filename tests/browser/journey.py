"""Helpers for browser journeys: visitors (one browser context each) whose every page is checked.

- axe-core runs on every page a JavaScript-enabled visitor shows (and again after the page changes itself), and
  must report zero violations of the WCAG 2.0/2.1/2.2 A and AA rules.
- Every HTML document the browser receives (pages and the fragments the script inserts) is kept and, at the end
  of the journey, checked by the Nu Html Checker in one JVM; it must report zero errors.
- Uncaught script errors and Content-Security-Policy refusals fail the journey too.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
CHROMIUM = Path(os.environ.get("FORUM_TEST_CHROMIUM", "/usr/bin/chromium"))  # Debian's package
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
VNU_JAR = HERE / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' -> '
                                        + (n.failureSummary || '').replace(/\\s+/g, ' '))}));
}"""
FRAGMENT_PAGE = ('<!DOCTYPE html><html lang="nb"><head><meta charset="utf-8"><title>fragment</title></head>'
                 "<body><main>{}</main></body></html>")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


class Checks:
    """Everything one journey's visitors saw, and the checks over it."""

    def __init__(self, browser, site, artifacts: Path, name: str):
        self.browser, self.site, self.artifacts = browser, site, artifacts
        self.name = re.sub(r"[^\w.-]+", "-", name).strip("-")
        self.visitors: list[Visitor] = []
        self.documents: dict[str, tuple[str, str]] = {}  # sha256 -> (url, html)
        self.problems: list[str] = []  # script errors, CSP refusals
        self.axe_checked: list[str] = []
        self._tasks: list[asyncio.Task] = []
        self.finished = False

    async def visitor(self, label: str, *, js: bool = True, phone: bool = False) -> Visitor:
        context = await self.browser.new_context(
            base_url=self.site.base_url, java_script_enabled=js, viewport=PHONE if phone else DESKTOP,
            is_mobile=phone, has_touch=phone, device_scale_factor=2 if phone else 1, locale="nb-NO")
        if js:
            await context.add_init_script(path=str(AXE_JS))  # injected by the browser itself, outside the CSP
        page = await context.new_page()
        visitor = Visitor(self, context, page, label, js=js, phone=phone)
        page.on("response", lambda response: self._tasks.append(asyncio.ensure_future(self._keep(response))))
        page.on("pageerror", lambda error: self.problems.append(f"{label}: script error: {error}"))
        page.on("console", lambda msg: self._console(label, msg))
        self.visitors.append(visitor)
        return visitor

    def _console(self, label: str, msg) -> None:
        if msg.type == "error" and ("Content Security Policy" in msg.text or "Refused" in msg.text):
            self.problems.append(f"{label}: {msg.text}")

    async def _keep(self, response) -> None:
        request = response.request
        if 300 <= response.status < 400 or "text/html" not in (response.headers.get("content-type") or ""):
            return
        if request.resource_type == "document":
            html = await response.text()
        elif request.resource_type == "fetch" and "/_posts" in response.url:
            html = FRAGMENT_PAGE.format(await response.text())
        else:
            return
        self.documents.setdefault(hashlib.sha256(html.encode()).hexdigest(), (response.url, html))

    async def finish(self) -> None:
        """Runs vnu over every document received, and fails on any error it or the browser reported."""
        await asyncio.gather(*self._tasks, return_exceptions=True)
        assert not self.problems, "\n".join(self.problems)
        assert self.documents, "no HTML documents were received"
        errors = await asyncio.to_thread(vnu_errors, list(self.documents.values()))
        assert not errors, "vnu reported errors:\n" + "\n".join(errors)
        self.finished = True

    async def close(self) -> None:
        for visitor in self.visitors:
            await visitor.context.close()


def vnu_errors(documents: list[tuple[str, str]]) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="vnu-") as folder:
        names = {}
        for n, (url, html) in enumerate(documents):
            path = Path(folder) / f"{n:04d}.html"
            path.write_text(html, encoding="utf-8")
            names[path.name] = (url, html)
        result = subprocess.run(["java", "-Xss8m", "-jar", str(VNU_JAR), "--format", "json", "--stdout",
                                 "--errors-only", "--skip-non-html", folder],
                                capture_output=True, text=True, timeout=180)
        messages = json.loads(result.stdout or '{"messages": []}')["messages"]
        if result.returncode not in (0, 1) or (result.returncode == 1 and not messages):
            return [f"vnu failed to run: {result.stderr[-2000:]}"]
        out = []
        for m in messages:
            url, html = names.get(Path(m.get("url", "")).name, (m.get("url"), ""))
            line = m.get("lastLine")
            source = html.splitlines()[line - 1].strip()[:200] if line and html else ""
            out.append(f"{url} line {line}: {m.get('message')} | {source}")
        return out


class Visitor:
    """One person in one browser context."""

    def __init__(self, checks: Checks, context, page, label: str, *, js: bool, phone: bool):
        self.checks, self.context, self.page, self.label = checks, context, page, label
        self.js, self.phone = js, phone
        self.shots = 0

    async def goto(self, path: str, *, status: int = 200):
        response = await self.page.goto(path)
        assert response is not None and response.status == status, (path, response and response.status)
        await self.check()
        return response

    async def follow(self, locator, *, key: str | None = None) -> None:
        """Activates something that loads a new page, by mouse or, with `key`, by keyboard (focus, then the key)."""
        async with self.page.expect_navigation():
            if key:
                await locator.focus()
                await self.page.keyboard.press(key)
            else:
                await locator.click()
        await self.check()

    async def check(self) -> None:
        """The page as it is now: axe (JavaScript on), no sideways scrolling on a phone."""
        await self.page.wait_for_load_state("load")
        if self.phone:
            overflow = await self.page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{self.page.url} scrolls sideways by {overflow}px at {PHONE['width']}px"
        if not self.js:
            return
        violations = await self.page.evaluate(AXE_RUN, AXE_TAGS)
        assert violations == [], f"axe on {self.page.url}:\n" + json.dumps(violations, indent=1, ensure_ascii=False)
        self.checks.axe_checked.append(self.page.url)

    async def shot(self, what: str) -> Path:
        self.shots += 1
        path = self.checks.artifacts / f"{self.checks.name}-{self.label}-{self.shots:02d}-{what}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    async def sign_in(self, user: dict) -> None:
        await self.goto("/login")
        await self.page.get_by_label(re.compile("^(E-post|Email)$")).fill(user["email"])
        await self.page.get_by_label(re.compile("^(Passord|Password)$")).fill(user["password"])
        await self.follow(self.page.get_by_label(re.compile("^(Passord|Password)$")), key="Enter")
        assert "/login" not in self.page.url, f"sign-in failed for {user['email']}"

    async def register_and_consent(self, username: str) -> None:
        """The registration form (Norwegian, the default), then consent to taking part on the page it leads to."""
        page = self.page
        await self.goto("/register")
        await page.get_by_label("Brukernavn", exact=True).fill(username)
        await page.get_by_label("E-post", exact=True).fill(f"{username.lower()}@example.test")
        await page.get_by_label("Passord", exact=True).fill("et langt og godt passord")
        await self.follow(page.get_by_role("button", name="Opprett konto"))
        await page.locator("#agree").check()
        await self.follow(page.get_by_role("button", name="Gi samtykke"))

    async def lang(self) -> str:
        return await self.page.get_attribute("html", "lang")
