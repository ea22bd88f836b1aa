"""End-to-end journeys in Chromium. Every page is checked by axe (zero WCAG A/AA violations) and vnu (zero
errors); screenshots go to tests/artifacts/. Pages render in Norwegian (the default) unless a journey switches."""

from __future__ import annotations

import re
import uuid

from playwright.async_api import expect

EXACT = {"exact": True}


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


async def test_journey_question_from_registration_to_solved(checks, site):
    """(1) register → read → try to post (the composer explains consent) → consent → ask a question →
    another user answers (no reload; it arrives live for the asker) → the asker accepts it → solved."""
    asker = await checks.visitor("asker")
    page = asker.page
    await asker.goto("/")
    assert await asker.lang() == "nb"
    await asker.follow(page.get_by_role("link", name="Registrer deg"), key="Enter")

    username = unique("Spor_")
    await page.get_by_label("Brukernavn", **EXACT).fill(username)
    await page.get_by_label("E-post", **EXACT).fill(f"{username.lower()}@example.test")
    await page.get_by_label("Passord", **EXACT).fill("et langt og godt passord")
    await asker.follow(page.get_by_role("button", name="Opprett konto"), key="Enter")
    assert page.url.endswith("/consent")  # registering leads to the (voluntary) consent page
    await asker.shot("consent-offered")

    # read first, without consenting
    await asker.follow(page.get_by_role("link", name="Nyeste"))
    await asker.follow(page.get_by_role("link", name=site.topic["title"]).first)
    await expect(page.locator("#post-2")).to_be_visible()
    composer = page.locator("#composer")
    await expect(composer.locator("#consent-needed")).to_contain_text("samtykke")
    await expect(composer.locator("textarea")).to_have_count(0)
    await asker.shot("composer-explains-consent")

    # consent from the composer's link, and come back to the topic
    await asker.follow(composer.get_by_role("link", name="Les retningslinjene og bestem deg"), key="Enter")
    await page.locator("#agree").focus()
    await page.keyboard.press("Space")
    await asker.follow(page.get_by_role("button", name="Gi samtykke"), key="Enter")
    assert f"/t/{site.topic['id']}/" in page.url
    await expect(page.locator("#composer textarea")).to_be_visible()

    # ask a question, using the preview and the character counter on the way
    await asker.goto(f"/c/{site.categories['questions']}")
    await asker.follow(page.get_by_role("link", name="Nytt emne"), key="Enter")
    title = f"Hvordan importerer jeg kunder fra CSV? {uuid.uuid4().hex[:6]}"
    await page.get_by_label("Tittel", **EXACT).fill(title)
    await page.get_by_label("Spørsmål", **EXACT).check()
    body = page.locator("#f-body")
    source = "Jeg har en **CSV-fil** med kunder.\n\n- navn\n- e-post"
    await body.fill(source)
    await expect(page.locator("#f-body-count")).to_contain_text(re.compile(rf"^{len(source)}\D"))
    await page.locator(".composer-tools button").focus()
    await page.keyboard.press("Enter")  # the preview opens from the keyboard too
    await expect(page.locator(".composer-tools button")).to_have_attribute("aria-expanded", "true")
    preview = page.locator("#f-body-preview")
    await expect(preview.locator("strong")).to_have_text("CSV-fil")
    await expect(preview.locator("li")).to_have_count(2)
    await asker.check()
    await asker.shot("question-with-preview")
    await asker.follow(page.get_by_role("button", name="Opprett emne"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(title)
    question_url = page.url

    # another user answers, without a reload; the asker's open page receives it live
    helper = await checks.visitor("helper")
    await helper.sign_in(site.users["helper"])
    await helper.goto(question_url)
    answer = helper.page.locator("#composer textarea")
    await answer.fill("Bruk *Kunder → Importer* og velg CSV. Kolonnene må hete `navn` og `epost`.")
    await helper.page.locator("#composer").get_by_role("button", name="Send svar").focus()
    await helper.page.keyboard.press("Enter")
    await expect(helper.page.locator("#post-2")).to_contain_text("Kunder → Importer")
    await expect(helper.page.locator("#post-2")).to_be_focused()
    assert helper.page.url == question_url  # no reload
    await expect(answer).to_have_value("")
    await helper.check()
    await helper.shot("answered-in-place")

    await expect(page.locator("#post-2")).to_contain_text("Kunder → Importer", timeout=15_000)
    await asker.check()
    await asker.shot("answer-arrived-live")

    # the asker accepts the answer (by keyboard) and the question shows as solved
    await asker.follow(page.locator("#post-2").get_by_role("button", name="Merk som svar"), key="Enter")
    await expect(page.locator(".page-head .badge.solved")).to_have_text("Løst")
    await expect(page.locator("#h-accepted")).to_have_text("Godkjent svar")
    await expect(page.locator("#post-2")).to_have_class(re.compile("is-accepted"))
    await asker.shot("solved")
    await asker.goto(f"/c/{site.categories['questions']}?kind=question&solved=yes")
    await expect(page.get_by_role("link", name=title)).to_be_visible()
    await checks.finish()


async def test_journey_staff_training_thread(checks, site):
    """(2) staff starts a training thread in the staff-led category and pins it; members reply."""
    member = await checks.visitor("member")
    await member.sign_in(site.users["member"])
    await member.goto(f"/c/{site.categories['training']}")
    await expect(member.page.get_by_role("link", name="Nytt emne")).to_have_count(0)  # staff start topics here

    staff = await checks.visitor("staff")
    page = staff.page
    await staff.sign_in(site.users["staff"])
    await staff.goto(f"/c/{site.categories['training']}")
    await staff.follow(page.get_by_role("link", name="Nytt emne"))
    title = f"Opplæring: timeføring i prosjekter {uuid.uuid4().hex[:6]}"
    await page.get_by_label("Tittel", **EXACT).fill(title)
    await expect(page.get_by_label("Opplæring", **EXACT)).to_be_checked()
    await page.locator("#f-body").fill("Velkommen!\n\n1. Opprett et prosjekt\n2. Før timer\n3. Fakturer")
    await staff.follow(page.get_by_role("button", name="Opprett emne"))
    await expect(page.locator(".page-head .badge.training")).to_be_visible()
    await staff.follow(page.get_by_role("button", name="Fest", **EXACT), key="Enter")
    await expect(page.locator(".page-head")).to_contain_text("Festet")
    training_url = page.url

    await member.goto(f"/c/{site.categories['training']}")
    first_row = member.page.locator(".topic-row").first
    await expect(first_row).to_contain_text(title)
    await expect(first_row).to_contain_text("Festet")
    await member.follow(member.page.get_by_role("link", name=title))
    box = member.page.locator("#composer textarea")
    await box.fill(">" * 300 + " for dypt")  # refused by the server: the error shows in place, the text stays
    await member.page.locator("#composer").get_by_role("button", name="Send svar").click()
    await expect(member.page.locator("#composer [role=alert]")).to_be_visible()
    await expect(box).to_have_attribute("aria-invalid", "true")
    await expect(box).to_be_focused()
    await expect(member.page.locator("#post-2")).to_have_count(0)
    await member.check()
    await member.shot("reply-refused")
    await box.fill("Hvordan fører jeg timer på en ordre?")
    await member.page.locator("#composer").get_by_role("button", name="Send svar").click()
    await expect(member.page.locator("#post-2")).to_contain_text("Hvordan fører jeg timer")
    await expect(member.page.locator("#composer [role=alert]")).to_be_hidden()

    second = await checks.visitor("second-member", js=False)
    await second.sign_in(site.users["helper"])
    await second.goto(training_url)
    await second.page.locator("#composer textarea").fill("Takk, dette var nyttig.")
    await second.follow(second.page.locator("#composer").get_by_role("button", name="Send svar"))
    await expect(second.page.locator("#post-3")).to_contain_text("Takk, dette var nyttig.")

    await expect(page.locator("#post-2")).to_be_visible(timeout=15_000)  # the staff page saw both arrive
    await expect(page.locator("#post-3")).to_be_visible(timeout=15_000)
    await staff.check()
    await staff.shot("training-with-replies")
    await checks.finish()


async def test_journey_language_switch_on_every_page(checks, site):
    """(5) Norwegian ⇄ English on every page visited, signed out and signed in; the page stays the same."""
    topic_path = f"/t/{site.topic['id']}/{site.topic['slug']}"
    anon_pages = ["/", f"/c/{site.categories['questions']}", topic_path, "/search?q=faktura", "/login", "/register",
                  "/consent", f"/u/{site.users['helper']['username']}"]
    member_pages = ["/", topic_path, "/settings", "/notifications", "/consent",
                    f"/c/{site.categories['questions']}/new", f"/u/{site.users['member']['username']}"]
    anon = await checks.visitor("anon")
    member = await checks.visitor("member")
    await member.sign_in(site.users["member"])
    for visitor, paths in ((anon, anon_pages), (member, member_pages)):
        page = visitor.page
        for path in paths:
            await visitor.goto(path)
            assert await visitor.lang() == "nb", path
            nb_title = await page.title()
            await visitor.follow(page.get_by_role("button", name="English", **EXACT), key="Enter")
            assert await visitor.lang() == "en", path
            assert page.url.endswith(path), (page.url, path)
            assert await page.title() != nb_title or path.startswith("/u/"), path
            await expect(page.get_by_role("button", name="Norsk", **EXACT)).to_be_visible()
            await visitor.follow(page.get_by_role("button", name="Norsk", **EXACT))
            assert await visitor.lang() == "nb" and page.url.endswith(path), path
    await anon.shot("back-in-norwegian")
    await checks.finish()


async def test_journey_without_javascript(checks, site):
    """Everything works with JavaScript off: sign in, reply, start a topic, like; no script-only controls."""
    visitor = await checks.visitor("nojs", js=False)
    page = visitor.page
    await visitor.sign_in(site.users["member"])
    await visitor.goto(f"/t/{site.topic['id']}/{site.topic['slug']}")
    await expect(page.locator(".composer-tools")).to_have_count(0)
    await expect(page.locator(".char-count")).to_have_count(0)
    text = f"Svar uten JavaScript {uuid.uuid4().hex[:6]}"
    await page.locator("#composer textarea").fill(text)
    await visitor.follow(page.locator("#composer").get_by_role("button", name="Send svar"))
    mine = page.locator("article.post", has_text=text)
    await expect(mine).to_be_visible()
    await visitor.follow(page.locator("#post-2").get_by_role("button", name="Lik", **EXACT))
    await expect(page.locator("#post-2 .likes")).to_contain_text("1")
    await visitor.goto(f"/c/{site.categories['questions']}/new")
    title = f"Spørsmål uten skript {uuid.uuid4().hex[:6]}"
    await page.get_by_label("Tittel", **EXACT).fill(title)
    await page.locator("#f-body").fill("Fungerer skjemaet uten JavaScript?")
    await visitor.follow(page.get_by_role("button", name="Opprett emne"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(title)
    await visitor.goto(f"/c/{site.categories['questions']}/new")
    await visitor.follow(page.get_by_role("button", name="Opprett emne"))  # empty form: errors, not a crash
    await expect(page.locator("#f-title-error")).to_be_visible()
    await visitor.shot("form-errors")
    await checks.finish()


async def test_journey_on_a_phone(checks, site):
    """At 390×844: browse, sign in, reply and settings, with no sideways scrolling on any page."""
    phone = await checks.visitor("phone", phone=True)
    page = phone.page
    await phone.goto("/")
    await phone.shot("home")
    await phone.follow(page.get_by_role("link", name=site.topic["title"]).first)
    await phone.shot("topic-signed-out")
    await phone.sign_in(site.users["helper"])
    await phone.goto(f"/t/{site.topic['id']}/{site.topic['slug']}")
    await page.locator("#composer textarea").fill("Svar fra mobilen, med en lang lenke: "
                                                  "https://example.com/" + "veldig-lang-sti/" * 8)
    await page.locator("#composer").get_by_role("button", name="Send svar").tap()
    await expect(page.locator("article.post", has_text="Svar fra mobilen")).to_be_visible()
    await phone.check()
    await phone.shot("topic-replied")
    for path in ("/settings", "/notifications", f"/c/{site.categories['questions']}/new", "/search?q=faktura"):
        await phone.goto(path)
    await phone.shot("search")
    await checks.finish()


async def test_keyboard_skip_link_and_visible_focus(checks, site):
    """The first Tab stop is the skip link, it shows when focused and moves focus to the content; every
    control reached by Tab shows a visible focus indicator."""
    visitor = await checks.visitor("keyboard")
    page = visitor.page
    await visitor.sign_in(site.users["member"])
    await visitor.goto(f"/t/{site.topic['id']}/{site.topic['slug']}")
    await page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    await expect(skip).to_be_focused()
    box = await skip.bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0, "the skip link must be on screen when focused"
    await page.keyboard.press("Enter")
    await expect(page.locator("#main")).to_be_focused()
    unseen = []
    for _ in range(40):  # bounded walk through the page
        await page.keyboard.press("Tab")
        info = await page.evaluate("""() => { const e = document.activeElement; const s = getComputedStyle(e);
            return {tag: e.tagName, text: (e.textContent || e.name || '').trim().slice(0, 40),
                    outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2}; }""")
        if info["tag"] == "BODY":
            break
        if not info["outline"]:
            unseen.append(info)
    assert not unseen, f"focus is not visible on: {unseen}"
    await visitor.shot("focus")
    await checks.finish()


async def test_tour_of_the_remaining_pages(checks, site):
    """The pages no journey above passes through, for axe and vnu: admin, audit log, edit and history,
    withdrawal and erasure confirmations, password reset, filters, empty results and the error page."""
    admin = await checks.visitor("admin")
    page = admin.page
    await admin.sign_in(site.users["admin"])
    await admin.goto(f"/t/{site.topic['id']}/{site.topic['slug']}")
    await admin.follow(page.locator("#post-1").get_by_role("link", name="Rediger"))
    await page.locator("#f-body").fill("Jeg vil eksportere fakturaene for **oktober og november**.")
    await admin.follow(page.locator('main form button[type="submit"]'))
    await expect(page.locator("#post-1")).to_contain_text("oktober og november")
    await admin.follow(page.locator("#post-1 a[href$='/history']"))
    for path in ("/admin", f"/admin/categories/{site.categories['questions']}", "/mod", "/mod/audit",
                 "/settings/withdraw", "/settings/erase", f"/c/{site.categories['questions']}?kind=question&solved=no",
                 "/search?q=ingenting-finnes-her", f"/u/{site.users['admin']['username']}"):
        await admin.goto(path)
    await admin.goto("/finnes-ikke", status=404)
    await admin.shot("not-found")
    visitor = await checks.visitor("visitor")
    await visitor.goto("/password/forgot")
    await visitor.goto("/search")
    await visitor.goto("/t/999999/finnes-ikke", status=404)
    await checks.finish()


async def test_replies_past_a_full_page_go_to_the_next_page(checks, site):
    """A page holds 20 posts: a live reply past it shows a link to the next page instead of growing this one,
    and one's own reply past it opens the next page."""
    starter = await checks.visitor("starter")
    page = starter.page
    await starter.sign_in(site.users["member"])
    await starter.goto(f"/c/{site.categories['questions']}/new")
    title = f"Et langt emne {uuid.uuid4().hex[:6]}"
    await page.get_by_label("Tittel", **EXACT).fill(title)
    await page.locator("#f-body").fill("Første innlegg")
    await starter.follow(page.get_by_role("button", name="Opprett emne"))
    topic_id = int(re.search(r"/t/(\d+)/", page.url)[1])
    statuses = await page.evaluate("""async (topicId) => {
        const token = document.querySelector('input[name=csrf_token]').value;
        const out = [];
        for (let n = 2; n <= 20; n++) {
          const r = await fetch('/api/v1/topics/' + topicId + '/posts', {method: 'POST',
            headers: {'Content-Type': 'application/json', 'X-CSRF-Token': token},
            body: JSON.stringify({body: 'Innlegg nummer ' + n})});
          out.push(r.status);
        }
        return out; }""", topic_id)
    assert statuses == [201] * 19
    await starter.goto(page.url)
    await expect(page.locator("article.post")).to_have_count(20)

    other = await checks.visitor("other")
    await other.sign_in(site.users["helper"])
    await other.goto(page.url)
    await other.page.locator("#composer textarea").fill("Svar nummer 21 hører hjemme på side 2")
    await other.follow(other.page.locator("#composer").get_by_role("button", name="Send svar"))
    assert "page=2" in other.page.url
    await expect(other.page.locator("#post-21")).to_be_visible()

    more = page.locator(".live-more a")
    await expect(more).to_be_visible(timeout=15_000)
    await expect(page.locator("#post-21")).to_have_count(0)
    await expect(page.locator("article.post")).to_have_count(20)
    await starter.check()
    await starter.follow(more, key="Enter")
    await expect(page.locator("#post-21")).to_be_visible()
    await checks.finish()
