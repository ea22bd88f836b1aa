"""`/admin`: editing and reordering categories, publishing policy versions, consent statistics."""

from __future__ import annotations

from forum.models import Category, PolicyVersion
from forum.services.policy_file import DEMO_POLICY, read_policy_file
from tests.conftest import new_category, unique


async def test_members_and_staff_cannot_reach_admin_pages(member, staff, category):
    for client in (member, staff):
        assert (await client.get("/admin")).status_code == 404
        assert (await client.get(f"/admin/categories/{category.slug}")).status_code == 404
    token = await member.form_token("/settings")
    refused = await member.post("/admin/policy", data={"csrf_token": token, "version": "x", "text_nb": "a",
                                                       "text_en": "b"})
    assert refused.status_code == 404
    assert not await PolicyVersion.filter(version="x").exists()


async def test_admin_edits_and_reorders_a_category(admin):
    cat = await new_category()
    page = await admin.get(f"/admin/categories/{cat.slug}")
    assert page.status_code == 200 and f'value="{cat.name}"' in page.text
    token = await admin.form_token("/admin")
    saved = await admin.post(f"/admin/categories/{cat.slug}", data={
        "csrf_token": token, "name": "Nytt navn", "description": "Om fakturaer", "read": "members",
        "start_topics": "staff", "position": "-5"})
    assert saved.status_code == 303
    cat = await Category.get(id=cat.id)
    assert (cat.name, cat.description, cat.read_access.value, cat.start_topics.value, cat.position) == (
        "Nytt navn", "Om fakturaer", "members", "staff", -5)
    listing = (await admin.get("/admin")).text
    assert "Nytt navn" in listing


async def test_bad_category_edits_are_refused_and_change_nothing(admin):
    cat = await new_category()
    token = await admin.form_token("/admin")
    for data in ({"name": "", "position": "1"}, {"name": "Ok", "position": "først"},
                 {"name": "Ok", "position": "1", "read": "alle"}):
        response = await admin.post(f"/admin/categories/{cat.slug}", data={
            "csrf_token": token, "description": "", "read": "public", "start_topics": "participants", **data})
        assert response.status_code == 400, data
        assert 'aria-invalid="true"' in response.text
    assert (await Category.get(id=cat.id)).name == cat.name
    assert (await admin.get("/admin/categories/finnes-ikke")).status_code == 404


async def test_admin_publishes_a_policy_version_and_sees_consent_statistics(admin, make_user):
    texts = read_policy_file(DEMO_POLICY)
    version = unique("v")
    token = await admin.form_token("/admin")
    missing = await admin.post("/admin/policy", data={"csrf_token": token, "version": version, "text_nb": "",
                                                      "text_en": ""})
    assert missing.status_code == 400 and not await PolicyVersion.filter(version=version).exists()
    published = await admin.post("/admin/policy", data={"csrf_token": token, "version": version,
                                                        "text_nb": texts["nb"], "text_en": texts["en"]})
    assert published.status_code == 303
    assert (await admin.get("/api/v1/consent")).json()["policy"]["version"] == version
    user = await make_user()  # consents to the new version
    assert (await user.get("/api/v1/consent")).json()["status"] == "granted"
    page = (await admin.get("/admin")).text
    assert version in page and user.user["email"] not in page and user.user["username"] not in page
    duplicate = await admin.post("/admin/policy", data={"csrf_token": token, "version": version,
                                                        "text_nb": "a", "text_en": "b"})
    assert duplicate.status_code == 400


async def test_statistics_count_outdated_consents_after_a_reconsent_version(make_user):
    from forum.services.consent import consent_statistics, publish_policy

    texts = read_policy_file(DEMO_POLICY)
    earlier = await make_user()
    before = (await earlier.get("/api/v1/consent")).json()["policy"]["version"]
    stats = {v["version"]: v for v in (await consent_statistics())["versions"]}
    current_before = stats[before]["current"]
    await publish_policy(version=unique("v"), text_nb=texts["nb"] + "\n\nEndret.", text_en=texts["en"],
                         reconsent=True)
    stats = await consent_statistics()
    by_version = {v["version"]: v for v in stats["versions"]}
    assert by_version[before]["current"] == 0 and by_version[before]["outdated"] == current_before
    assert (await earlier.get("/api/v1/consent")).json()["status"] == "outdated"
    assert sum(m["granted"] for m in stats["months"]) >= by_version[before]["granted"]


async def test_creating_a_category_and_changing_its_access_are_audited(admin, moderator):
    from moderation.models import AuditEntry

    slug = unique("aud").lower()
    made = await admin.api("POST", "/api/v1/categories", {"slug": slug, "name": "Hemmelig", "read": "staff",
                                                          "start_topics": "staff"})
    assert made.status_code == 201, made.text
    cat = await Category.get(slug=slug)
    token = await admin.form_token("/admin")
    opened = await admin.post(f"/admin/categories/{slug}", data={
        "csrf_token": token, "name": "Hemmelig", "description": "", "read": "public", "start_topics": "staff",
        "position": str(cat.position)})
    assert opened.status_code == 303, opened.text
    renamed = await admin.api("PATCH", f"/api/v1/categories/{slug}", {"name": "Ikke hemmelig"})
    assert renamed.status_code == 200
    closed = await admin.api("PATCH", f"/api/v1/categories/{slug}", {"read": "staff"})
    assert closed.status_code == 200
    rows = await AuditEntry.filter(target_kind="category", target_id=cat.id).order_by("id").values_list(
        "actor_id", "action", "detail")
    actor = admin.user["id"]
    assert rows == [
        (actor, "create_category", "read=staff,start=staff"),
        (actor, "change_category_access", "read=staff,start=staff->read=public,start=staff"),
        (actor, "change_category_access", "read=public,start=staff->read=staff,start=staff"),
    ]  # the rename is not an access change
    log = (await moderator.get("/api/v1/mod/audit")).json()["entries"]
    assert any(e["action"] == "change_category_access" and e["target_id"] == cat.id for e in log)


async def test_a_refused_category_leaves_no_audit_row(admin):
    from moderation.models import AuditEntry

    before = await AuditEntry.filter(target_kind="category").count()
    taken = await new_category()
    again = await admin.api("POST", "/api/v1/categories", {"slug": taken.slug, "name": "Igjen"})
    assert again.status_code == 409
    assert await AuditEntry.filter(target_kind="category").count() == before
