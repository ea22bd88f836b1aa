"""The authorisation matrix: every route × every role × object state, asserted by one test.

Every route of the app's route table must have an entry below (a new route fails the test until it has one).
Each cell is one real request against fresh objects; the answers are checked twice:
1. against the rules that must hold whatever the route (below, `RULES`): a visitor writes nothing, only
   moderators reach moderation, only admins reach administration, nobody without consent takes part, a
   silenced user posts nothing, nobody outside staff sees a staff-only category, a hidden or deleted post's
   text reaches nobody but moderators (and a hidden post's author), and nobody edits another's post;
2. against the committed table docs/authorisation-matrix.md, so any change of an answer shows in review.
   Regenerate it with `FORUM_UPDATE_MATRIX=1 python -m pytest tests/test_authorisation.py`.
Slow (about 2,000 requests in-process); runs in `make test` and CI.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.routing import Route

from forum.models import Role, Topic
from tests.conftest import CSRF_FIELD, Client, new_category, unique

pytestmark = pytest.mark.slow

MATRIX = Path(__file__).resolve().parent.parent / "docs" / "authorisation-matrix.md"
ROLES = ["visitor", "member", "participant", "staff", "moderator", "admin", "silenced", "suspended", "withdrawn"]
# endless event streams: tests/test_live*.py, tests/test_mod_live.py
SKIPPED = {"/t/{topic_id:int}/_events", "/notifications/_events", "/mod/_events"}

# (method, route path) -> (object kind, body). Kinds: post, topic, category, user, word, username, token, "-".
P = "participate"
SPEC: dict[tuple[str, str], tuple[str, dict | None]] = {
    ("GET", "/"): ("-", None),
    ("GET", "/register"): ("-", None), ("POST", "/register"): ("-", {"username": "NEWUSER", "email": "NEWEMAIL",
                                                                     "password": "correct horse battery"}),
    ("GET", "/login"): ("-", None), ("POST", "/login"): ("-", {"email": "NEWEMAIL", "password": "wrong one!"}),
    ("POST", "/logout"): ("-", {}), ("POST", "/logout/everywhere"): ("-", {}),
    ("POST", "/settings/password"): ("-", {"current_password": "wrong password", "new_password": "new passphrase"}),
    ("POST", "/language"): ("-", {"locale": "en"}),
    ("GET", "/password/forgot"): ("-", None), ("POST", "/password/forgot"): ("-", {"email": "x@example.test"}),
    ("GET", "/password/reset/{token}"): ("token", None),
    ("POST", "/password/reset/{token}"): ("token", {"new_password": "new passphrase"}),
    ("GET", "/settings"): ("-", None), ("POST", "/settings/profile"): ("-", {"display_name": "NEWUSER", "bio": ""}),
    ("GET", "/settings/withdraw"): ("-", None), ("POST", "/settings/withdraw"): ("-", {"confirm": "yes"}),
    ("GET", "/settings/export"): ("-", None),
    ("GET", "/settings/erase"): ("-", None), ("POST", "/settings/erase"): ("-", {"password": "wrong password"}),
    ("GET", "/t/{topic_id:int}/_posts"): ("topic", None),
    ("GET", "/c/{slug}"): ("category", None), ("GET", "/c/{slug}/new"): ("category", None),
    ("POST", "/c/{slug}/new"): ("category", {"title": "Et nytt emne her", "body": "Tekst", "kind": "discussion",
                                             "confirm_similar": "1"}),  # issue 25: past the similar-topics step
    ("POST", "/c/{slug}/watch"): ("category", {}),
    ("GET", "/t/{topic_id:int}"): ("topic", None), ("GET", "/t/{topic_id:int}/{slug}"): ("topic", None),
    ("POST", "/t/{topic_id:int}/reply"): ("topic", {"body": "Et svar"}),
    ("POST", "/t/{topic_id:int}/watch"): ("topic", {}),
    ("POST", "/t/{topic_id:int}/moderate"): ("topic", {"action": "lock"}),
    ("GET", "/p/{post_id:int}"): ("post", None), ("GET", "/p/{post_id:int}/edit"): ("post", None),
    ("POST", "/p/{post_id:int}/edit"): ("post", {"body": "Endret tekst"}),
    ("POST", "/p/{post_id:int}/delete"): ("post", {}), ("POST", "/p/{post_id:int}/like"): ("post", {}),
    ("POST", "/p/{post_id:int}/accept"): ("post", {}), ("GET", "/p/{post_id:int}/history"): ("post", None),
    ("GET", "/u/{username}"): ("username", None),
    ("GET", "/notifications"): ("-", None), ("POST", "/notifications/read"): ("-", {}),
    ("GET", "/search"): ("-", None),
    ("GET", "/admin"): ("-", None),
    ("POST", "/admin/categories"): ("-", {"slug": "NEWSLUG", "name": "Ny kategori", "description": "",
                                          "read": "public", "start_topics": "participants"}),
    ("POST", "/admin/roles"): ("-", {"username": "TARGETNAME", "role": "member"}),
    ("GET", "/admin/categories/{slug}"): ("category", None),
    ("POST", "/admin/categories/{slug}"): ("category", {"name": "Nytt navn", "description": "", "read": "public",
                                                       "start_topics": "participants", "position": "0"}),
    ("POST", "/admin/policy"): ("-", {"version": "", "text_nb": "", "text_en": ""}),
    ("GET", "/consent"): ("-", None), ("POST", "/consent"): ("-", {"policy_version": "POLICY"}),
    ("POST", "/consent/{purpose}/withdraw"): ("-", {}), ("GET", "/consent/policies/{purpose}/{version}"): ("-", None),
    ("GET", "/consent/receipts/{receipt_id}"): ("receipt", None),
    ("GET", "/consent/receipts/{receipt_id}/download"): ("receipt", None),
    ("GET", "/consent/verify"): ("-", None), ("POST", "/consent/verify"): ("-", {"receipt": "a.b.c"}),
    ("GET", "/.well-known/jwks.json"): ("-", None),
    ("GET", "/email/confirm/{token}"): ("token", None), ("POST", "/email/confirm/{token}"): ("token", {}),
    ("GET", "/mail/unsubscribe/{token}"): ("token", None), ("POST", "/mail/unsubscribe/{token}"): ("token", {}),
    ("POST", "/settings/mail"): ("-", {"mail_reply": "on", "digest": "off"}),
    ("POST", "/settings/mail/offer"): ("-", {"answer": "no"}),
    ("POST", "/settings/email"): ("-", {"new_email": "NEWEMAIL", "password": "wrong password"}),
    ("GET", "/healthz"): ("-", None),
    ("GET", "/mod"): ("-", None), ("GET", "/mod/audit"): ("-", None),
    ("POST", "/mod/posts/{post_id:int}/action"): ("post", {"action": "hide", "reason": "Test"}),
    ("POST", "/mod/words"): ("-", {"word": "NEWWORD", "action": "flag"}),
    ("POST", "/mod/words/{word_id:int}/delete"): ("word", {}),
    ("POST", "/mod/users/sanction"): ("-", {"username": "TARGETNAME", "kind": "silence", "days": "1",
                                            "reason": "Test"}),
    ("POST", "/mod/users/{user_id:int}/lift"): ("user", {"reason": "Test"}),
    ("GET", "/p/{post_id:int}/flag"): ("post", None),
    ("POST", "/p/{post_id:int}/flag"): ("post", {"reason": "spam"}),
    ("GET", "/p/{post_id:int}/appeal"): ("post", None),
    ("POST", "/p/{post_id:int}/appeal"): ("post", {"text": "Dette var ikke spam."}),
    ("POST", "/api/v1/posts/{post_id:int}/flags"): ("post", {"reason": "spam"}),
    ("POST", "/api/v1/posts/{post_id:int}/appeal"): ("post", {"text": "Dette var ikke spam."}),
    ("GET", "/api/v1/mod/queue"): ("-", None),
    ("POST", "/api/v1/mod/posts/{post_id:int}/actions"): ("post", {"action": "hide", "reason": "Test"}),
    ("POST", "/api/v1/mod/users/{user_id:int}/suspensions"): ("user", {"kind": "silence", "until": "UNTIL",
                                                                       "reason": "Test"}),
    ("DELETE", "/api/v1/mod/users/{user_id:int}/suspensions"): ("user", {"reason": "Test"}),
    ("GET", "/api/v1/mod/audit"): ("-", None),
    ("GET", "/api/v1/mod/watched-words"): ("-", None),
    ("POST", "/api/v1/mod/watched-words"): ("-", {"word": "NEWWORD", "action": "flag"}),
    ("DELETE", "/api/v1/mod/watched-words/{word_id:int}"): ("word", None),
    ("POST", "/api/v1/users"): ("-", {"username": "NEWUSER", "email": "NEWEMAIL",
                                      "password": "correct horse battery"}),
    ("GET", "/api/v1/session"): ("-", None), ("DELETE", "/api/v1/session"): ("-", None),
    ("POST", "/api/v1/session"): ("-", {"email": "NEWEMAIL", "password": "wrong password"}),
    ("DELETE", "/api/v1/sessions"): ("-", None),
    ("GET", "/api/v1/me"): ("-", None), ("PATCH", "/api/v1/me"): ("-", {"locale": "en"}),
    ("DELETE", "/api/v1/me"): ("-", {"password": "wrong password"}),
    ("GET", "/api/v1/me/export"): ("-", None),
    ("PATCH", "/api/v1/me/profile"): ("-", {"display_name": "NEWUSER"}),  # names are unique
    ("POST", "/api/v1/me/password"): ("-", {"current_password": "wrong password", "new_password": "new passphrase"}),
    ("GET", "/api/v1/categories"): ("-", None),
    ("POST", "/api/v1/categories"): ("-", {"slug": "NEWSLUG", "name": "Ny kategori"}),
    ("PATCH", "/api/v1/categories/{slug}"): ("category", {"name": "Nytt navn"}),
    ("GET", "/api/v1/categories/{slug}/topics"): ("category", None),
    ("POST", "/api/v1/topics"): ("category", {"category": "SLUG", "title": "Et nytt emne her", "body": "Tekst",
                                              "kind": "discussion"}),
    ("GET", "/api/v1/topics/{topic_id:int}"): ("topic", None),
    ("PATCH", "/api/v1/topics/{topic_id:int}"): ("topic", {"locked": True}),
    ("POST", "/api/v1/topics/{topic_id:int}/posts"): ("topic", {"body": "Et svar"}),
    ("PATCH", "/api/v1/posts/{post_id:int}"): ("post", {"body": "Endret tekst"}),
    ("DELETE", "/api/v1/posts/{post_id:int}"): ("post", None),
    ("GET", "/api/v1/posts/{post_id:int}/revisions"): ("post", None),
    ("POST", "/api/v1/posts/{post_id:int}/like"): ("post", None),
    ("DELETE", "/api/v1/posts/{post_id:int}/like"): ("post", None),
    ("POST", "/api/v1/posts/{post_id:int}/accept"): ("post", None),
    ("DELETE", "/api/v1/posts/{post_id:int}/accept"): ("post", None),
    ("GET", "/api/v1/notifications"): ("-", None), ("POST", "/api/v1/notifications"): ("-", {}),
    ("GET", "/api/v1/search"): ("-", None),
    ("GET", "/api/v1/consent"): ("-", None), ("POST", "/api/v1/consent"): ("-", {"policy_version": "POLICY"}),
    ("DELETE", "/api/v1/consent"): ("-", None),
    ("GET", "/api/v1/consent/receipts"): ("-", None), ("POST", "/api/v1/consent/verify"): ("-", {"receipt": "a.b.c"}),
    ("POST", "/api/v1/preview"): ("-", {"source": "*hei*"}),
    ("POST", "/api/v1/password/forgot"): ("-", {"email": "x@example.test"}),
    ("POST", "/api/v1/password/reset"): ("-", {"token": "x" * 43, "new_password": "new passphrase"}),
    ("GET", "/api/openapi.json"): ("-", None),
    # OpenID Connect sign-in (on for this test, against the real provider of tests/oidc_provider.py)
    ("GET", "/auth/oidc/login"): ("-", None), ("GET", "/auth/oidc/callback"): ("-", None),
    ("POST", "/auth/oidc/backchannel-logout"): ("-", {"logout_token": "not a token"}),
    ("POST", "/settings/oidc/link"): ("-", {}), ("POST", "/settings/oidc/unlink"): ("-", {}),
    # issue 26 (2026-12-02): what crawlers and feed readers fetch; a staff-only category has no feed, for anyone
    ("GET", "/robots.txt"): ("-", None), ("GET", "/sitemap.xml"): ("-", None),
    ("GET", "/sitemap/topics-{page:int}.xml"): ("-", None), ("GET", "/feed.atom"): ("-", None),
    ("GET", "/c/{slug}/feed.atom"): ("category", None),
    # issue 22 (2026-12-02): an attached file has the access of its post, in every state of it
    ("GET", "/files/{token}"): ("file", None), ("GET", "/settings/export.zip"): ("-", None),
    # issue 25 (2026-12-02): the composer's drafts, similar topics and mention suggestions
    ("GET", "/drafts"): ("-", None),
    ("POST", "/drafts/save"): ("category", {"category": "SLUG", "title": "Et utkast her", "body": "Tekst"}),
    ("POST", "/drafts/{draft_id:int}/delete"): ("draft", {}),
    ("PUT", "/api/v1/drafts"): ("category", {"category": "SLUG", "title": "Et utkast her", "body": "Tekst"}),
    ("GET", "/api/v1/similar-topics"): ("-", None),
    ("GET", "/api/v1/mention-suggestions"): ("-", None),
    # issue 22's rest (2026-12-02): uploads through the API; replacing a picture OCR hid in a held post
    ("POST", "/api/v1/uploads"): ("-", {}), ("DELETE", "/api/v1/uploads/{upload_id:int}"): ("upload", None),
    ("GET", "/p/{post_id:int}/files/{file_id:int}/replace"): ("held file", None),
    ("POST", "/p/{post_id:int}/files/{file_id:int}/replace"): ("held file", {"remove": "1"}),
}
STATES = {"post": ["own", "other", "hidden", "deleted", "staff-only"], "topic": ["own", "other", "staff-only"],
          "category": ["public", "staff-only"], "user": ["other"], "word": ["any"], "username": ["other"],
          "token": ["unknown"], "receipt": ["other"], "draft": ["other"], "-": ["-"],
          # issue 22 (2026-12-02)
          "file": ["public", "members-only", "staff-only", "post hidden", "post deleted", "held by OCR",
                   "author withdrew", "names a withdrawn member"],
          "upload": ["other"], "held file": ["own", "other"]}
FILE_HIDDEN = {"post hidden", "post deleted", "held by OCR", "author withdrew", "names a withdrawn member"}
# states that matter to a few routes only: a post by an admin (whom a moderator does not outrank), one's own post
# in a locked topic, a reply to a question the role asked (its answer to mark)
ADMINS = "admin's"
LOCKED = "own, locked topic"
ASKED = "answer to own question"
_CHANGE_POST = [("GET", "/p/{post_id:int}/edit"), ("POST", "/p/{post_id:int}/edit"),
                ("PATCH", "/api/v1/posts/{post_id:int}")]
EXTRA_STATES: dict[tuple[str, str], list[str]] = {
    **{key: [ADMINS, LOCKED] for key in _CHANGE_POST},
    **{key: [ADMINS] for key in [("POST", "/p/{post_id:int}/delete"), ("DELETE", "/api/v1/posts/{post_id:int}"),
                                 ("POST", "/mod/posts/{post_id:int}/action"),
                                 ("POST", "/api/v1/mod/posts/{post_id:int}/actions"),
                                 ("POST", "/p/{post_id:int}/flag"), ("POST", "/api/v1/posts/{post_id:int}/flags")]},
    **{key: [ASKED] for key in [("POST", "/p/{post_id:int}/accept"), ("POST", "/api/v1/posts/{post_id:int}/accept"),
                                ("DELETE", "/api/v1/posts/{post_id:int}/accept")]},
}
PARTICIPATE = {("POST", "/c/{slug}/new"), ("POST", "/t/{topic_id:int}/reply"), ("POST", "/p/{post_id:int}/edit"),
               ("POST", "/p/{post_id:int}/like"), ("POST", "/api/v1/topics"),
               ("POST", "/api/v1/topics/{topic_id:int}/posts"), ("PATCH", "/api/v1/posts/{post_id:int}"),
               ("POST", "/api/v1/posts/{post_id:int}/like"), ("PATCH", "/api/v1/me/profile"),
               ("POST", "/settings/profile"), ("POST", "/api/v1/preview"),  # a preview costs what a post does
               ("POST", "/drafts/save"), ("PUT", "/api/v1/drafts")}  # issue 25: a draft is a write too
# adding anything others see: what a silence stops ("you can read, but not post, like, flag or change your
# profile"); taking one's own like back stays open
POSTING = {("POST", "/c/{slug}/new"), ("POST", "/t/{topic_id:int}/reply"), ("POST", "/p/{post_id:int}/edit"),
           ("POST", "/api/v1/topics"), ("POST", "/api/v1/topics/{topic_id:int}/posts"),
           ("PATCH", "/api/v1/posts/{post_id:int}"), ("POST", "/p/{post_id:int}/flag"),
           ("POST", "/api/v1/posts/{post_id:int}/flags"), ("POST", "/p/{post_id:int}/like"),
           ("POST", "/api/v1/posts/{post_id:int}/like"), ("PATCH", "/api/v1/me/profile"),
           ("POST", "/settings/profile"), ("POST", "/api/v1/preview")}
# the writes a visitor may make: getting an account, a session, a language, a reset link
VISITOR_WRITES = {("POST", "/register"), ("POST", "/login"), ("POST", "/language"), ("POST", "/password/forgot"),
                  ("POST", "/api/v1/users"), ("POST", "/api/v1/session"), ("POST", "/api/v1/password/forgot"),
                  ("POST", "/logout"), ("POST", "/consent/verify"), ("POST", "/api/v1/consent/verify")}


SESSION_CHANGING = {("POST", "/logout"), ("POST", "/logout/everywhere"), ("DELETE", "/api/v1/session"),
                    ("DELETE", "/api/v1/sessions"), ("DELETE", "/api/v1/me"), ("DELETE", "/api/v1/consent"),
                    ("POST", "/settings/withdraw"), ("POST", "/settings/erase"), ("POST", "/login"),
                    ("POST", "/register"), ("POST", "/api/v1/session"), ("POST", "/api/v1/users"),
                    ("POST", "/settings/password"), ("POST", "/api/v1/me/password"), ("POST", "/consent"),
                    ("POST", "/api/v1/consent"), ("PATCH", "/api/v1/me"), ("POST", "/language")}
# roles that can have posts of their own (the others cannot write one; "own" is n/a for them)
AUTHORS = {"participant", "staff", "moderator", "admin"}
# who may have asked a question: the authors, and a member silenced since
ASKERS = AUTHORS | {"silenced"}


class World:
    """The objects a cell acts on, made fresh for writes so one cell cannot change another's answer."""

    def __init__(self, author, staff, moderator, admin, target, make_user=None) -> None:
        self.author, self.staff, self.moderator, self.admin, self.target = author, staff, moderator, admin, target
        self.make_user = make_user
        self.public = None
        self.staff_only = None
        self.members_only = None

    async def setup(self) -> None:
        self.public = await new_category()
        self.staff_only = await new_category(read="staff", start_topics="staff")
        self.members_only = await new_category(read="members")

    async def file(self, state: str) -> str:
        """A picture attached to a post in `state` (issue 22); its token."""
        from forum import db, events
        from tests import attachment_images as imgs

        by = await self.make_user() if state == "author withdrew" else self.author
        category = {"staff-only": self.staff_only, "members-only": self.members_only}.get(state, self.public)
        if state == "staff-only":
            by = self.staff
        topic = await self.topic(by, category)
        post_id = imgs.post_id_of(await imgs.compose(by, topic["id"], "Bilde", [("a.png", imgs.text_image(["M"]),
                                                                                  "image/png")], ["Matrise"]))
        [row] = await imgs.files_of(post_id)
        if state == "post hidden":
            hidden = await self.moderator.api("POST", f"/api/v1/mod/posts/{post_id}/actions",
                                              {"action": "hide", "reason": "Test"})
            assert hidden.status_code == 200, hidden.text
        elif state == "post deleted":
            assert (await by.api("DELETE", f"/api/v1/posts/{post_id}")).status_code == 200
        elif state == "author withdrew":
            assert (await by.api("DELETE", "/api/v1/consent")).status_code == 200
        elif state in ("held by OCR", "names a withdrawn member"):
            leaver = await self.make_user() if state == "names a withdrawn member" else None
            text = f"Fødselsnummer: {imgs.FNR}"
            if leaver is not None:  # a display name of letters only, as a screenshot shows a person's name
                name = "Ragnhild " + unique("").translate(str.maketrans("0123456789", "ghijklmnop")).capitalize()
                changed = await leaver.api("PATCH", "/api/v1/me/profile", {"display_name": name, "bio": ""})
                assert changed.status_code == 200, changed.text
                text = "Saksbehandler: " + name
            async with db.write_transaction() as conn:  # what the OCR worker records (tests/test_attachments.py)
                await db.execute("UPDATE attachment SET ocr_state = 'done', ocr_text = ? WHERE id = ?",
                                 [text, row["id"]], conn)
                if leaver is None:
                    await events.emit(events.ATTACHMENT_READ, events.AttachmentRead(
                        row["id"], post_id, topic["id"], by.user["id"], text, conn))
            if leaver is not None:
                assert (await leaver.api("DELETE", "/api/v1/consent")).status_code == 200
        return row["token"]

    async def held_file(self, by) -> dict:
        """A picture OCR found a fødselsnummer in (as the worker records it): its post is held."""
        from forum import db, events
        from tests import attachment_images as imgs

        topic = await self.topic(self.author, self.public)
        post_id = imgs.post_id_of(await imgs.compose(by, topic["id"], "Bilde", [("a.png", imgs.text_image(["M"]),
                                                                                  "image/png")], ["Matrise"]))
        [row] = await imgs.files_of(post_id)
        text = f"Fødselsnummer: {imgs.FNR}"
        async with db.write_transaction() as conn:
            await db.execute("UPDATE attachment SET ocr_state = 'done', ocr_text = ? WHERE id = ?", [text, row["id"]],
                             conn)
            await events.emit(events.ATTACHMENT_READ, events.AttachmentRead(row["id"], post_id, topic["id"],
                                                                            by.user["id"], text, conn))
        return {"id": post_id, "file_id": row["id"]}

    async def topic(self, by, category) -> dict:
        response = await by.api("POST", "/api/v1/topics", {"category": category.slug, "title": unique("Emne "),
                                                           "body": "Hvordan gjør jeg dette?", "kind": "question"})
        assert response.status_code == 201, response.text
        return response.json()

    async def obj(self, kind: str, state: str, role_client, fresh: bool = False) -> object:
        own = role_client if state == "own" and role_client is not None else None
        if kind == "category":
            if fresh:  # an admin's write may open a staff-only category to everyone
                return await new_category(read="staff", start_topics="staff") if state == "staff-only" \
                    else await new_category()
            return self.staff_only if state == "staff-only" else self.public
        if kind == "topic":
            if state == "staff-only":
                return await self.topic(self.staff, self.staff_only)
            return await self.topic(own or self.author, self.public)
        if kind == "post":
            if state == "staff-only":
                return (await self.topic(self.staff, self.staff_only))["first_post_id"]
            if state in (ADMINS, ASKED):
                topic = await self.topic(self.author, self.public)
                by = self.admin if state == ADMINS else self.author
                reply = await by.api("POST", f"/api/v1/topics/{topic['id']}/posts", {"body": "Et svar"})
                assert reply.status_code == 201, reply.text
                if state == ASKED:  # asked before any sanction: the question is the role's
                    await Topic.filter(id=topic["id"]).update(author_id=role_client.user["id"])
                return reply.json()["id"]
            if state == LOCKED:
                own = role_client
            topic = await self.topic(self.moderator if own else self.author, self.public)
            reply = await (own or self.author).api("POST", f"/api/v1/topics/{topic['id']}/posts", {"body": "Et svar"})
            assert reply.status_code == 201, reply.text
            post_id = reply.json()["id"]
            if state == "hidden":
                hidden = await self.moderator.api("POST", f"/api/v1/mod/posts/{post_id}/actions",
                                                  {"action": "hide", "reason": "Test"})
                assert hidden.status_code == 200, hidden.text
            if state == "deleted":
                assert (await self.author.api("DELETE", f"/api/v1/posts/{post_id}")).status_code == 200
            if state == LOCKED:
                locked = await self.staff.api("PATCH", f"/api/v1/topics/{topic['id']}", {"locked": True})
                assert locked.status_code == 200, locked.text
            return post_id
        if kind == "user":
            return self.target.user["id"]
        if kind == "username":
            return self.target.user["username"]
        if kind == "word":
            word = await self.moderator.api("POST", "/api/v1/mod/watched-words",
                                            {"word": unique("ord").lower(), "action": "flag"})
            assert word.status_code == 201, word.text
            return word.json()["id"]
        if kind == "token":
            return "x" * 43
        if kind == "file":
            return await self.file(state)
        if kind == "held file":  # a picture OCR hid, in a post of the role's own or another's
            return await self.held_file(own or self.author)
        if kind == "upload":  # another member's pending upload (issue 22): nobody else may touch it
            from tests import attachment_images as imgs

            uploader = await self.make_user()  # one post's worth of pending uploads per member
            headers = {"X-CSRF-Token": uploader.csrf}
            kept = await uploader.post("/api/v1/uploads", headers=headers, data={"alt": "Matrise"},
                                          files={"file": ("a.png", imgs.text_image(["U"]), "image/png")})
            assert kept.status_code == 201, kept.text
            return kept.json()["id"]
        if kind == "receipt":  # another member's: nobody but its member may read it
            from forum.services.receipts import receipts_of

            return (await receipts_of(self.author.user["id"]))[0]["id"]
        if kind == "draft":  # another member's (issue 25): nobody but its member may touch it
            saved = await self.author.api("PUT", "/api/v1/drafts", {"body": unique("Utkast ")})
            assert saved.status_code == 200, saved.text
            from forum import db

            return (await db.fetch_one("SELECT max(id) AS id FROM composer_draft WHERE user_id = ?",
                                       [self.author.user["id"]]))["id"]
        return None


def elsewhere(app, client) -> Client:
    """The same browser (cookies, CSRF token) seen from another client address."""
    n = int(unique("")[:6], 16)
    transport = httpx.ASGITransport(app=app.state.asgi, raise_app_exceptions=False,
                                    client=(f"203.0.{n % 250}.{n // 250 % 250 + 1}", 40000))
    moved = Client(transport=transport, base_url="http://testserver", follow_redirects=False)
    moved.cookies = client.cookies
    moved.csrf, moved.user = client.csrf, client.user
    return moved


def answer(response) -> str:
    status = response.status_code
    if status in (302, 303, 307):
        location = response.headers.get("location", "")
        return f"{status}→login" if location.startswith("/login") else str(status)
    if status >= 400 and response.headers.get("content-type", "").startswith("application/json"):
        error = response.json()["error"]  # the forum's shape, or OAuth's (back-channel logout: a plain code)
        return f"{status} {error['code'] if isinstance(error, dict) else error}"
    return str(status)


async def _role_clients(make_user, anon, moderator_client):
    async def sanctioned(kind: str):
        client = await make_user()
        until = (datetime.now(UTC) + timedelta(days=2)).isoformat()
        response = await moderator_client.api("POST", f"/api/v1/mod/users/{client.user['id']}/suspensions",
                                              {"kind": kind, "until": until, "reason": "Matrix"})
        assert response.status_code == 201, response.text
        return client

    async def withdrawn():
        client = await make_user()
        assert (await client.api("DELETE", "/api/v1/consent")).status_code == 200
        return client

    makers = {
        "visitor": lambda: _const(anon), "member": lambda: make_user(consented=False),
        "participant": lambda: make_user(), "staff": lambda: make_user(Role.STAFF),
        "moderator": lambda: make_user(Role.MODERATOR), "admin": lambda: make_user(Role.ADMIN),
        "silenced": lambda: sanctioned("silence"), "suspended": lambda: sanctioned("suspend"),
        "withdrawn": withdrawn,
    }
    return makers


async def _const(value):
    return value


def _fill(body: dict | None, world: World, obj) -> dict | None:
    if body is None:
        return None
    out = {}
    for key, value in body.items():
        if value == "NEWUSER":
            value = unique("ny")
        elif value == "NEWEMAIL":
            value = f"{unique('ny')}@example.test"
        elif value == "NEWSLUG":
            value = unique("kat").lower()
        elif value == "NEWWORD":
            value = unique("ord").lower()
        elif value == "TARGETNAME":
            value = world.target.user["username"]
        elif value == "SLUG":
            value = obj.slug
        elif value == "UNTIL":
            value = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        out[key] = value
    return out


def _path(route_path: str, obj) -> str:
    path = route_path.replace("{topic_id:int}/{slug}", f"{obj['id'] if isinstance(obj, dict) else obj}/x")
    if isinstance(obj, dict) and "file_id" in obj:
        path = path.replace("{file_id:int}", str(obj["file_id"]))
    for name in ("{topic_id:int}", "{post_id:int}", "{user_id:int}", "{word_id:int}", "{draft_id:int}",
                 "{upload_id:int}"):
        path = path.replace(name, str(obj["id"] if isinstance(obj, dict) else obj))
    path = path.replace("{purpose}/{version}", "forum/test-1").replace("{purpose}", "mail")
    path = path.replace("{page:int}", "1")
    for name in ("{slug}", "{username}", "{token}", "{receipt_id}"):
        path = path.replace(name, getattr(obj, "slug", None) or str(obj))
    return path


async def _request(client, method: str, path: str, body: dict | None, policy: str):
    if body is not None and "POLICY" in body.values():
        body = {k: (policy if v == "POLICY" else v) for k, v in body.items()}
    if path.startswith("/api/"):
        return await client.api(method, path, body)
    if method == "GET":
        return await client.get(path)
    # a visitor's reading pages carry no token (and set no cookie): theirs comes from the sign-in page
    token = CSRF_FIELD.search((await client.get("/")).text) or CSRF_FIELD.search((await client.get("/login")).text)
    return await client.post(path, data={"csrf_token": token.group(1), **{k: str(v) for k, v in (body or {}).items()}})


@pytest.fixture
def oidc_on(app, tmp_path):
    """The matrix covers the OpenID Connect routes too: sign-in with a real provider is on while it runs."""
    from tests.oidc_provider import OpenIdProvider, enable_oidc

    provider = OpenIdProvider(tmp_path, "http://testserver")
    provider.start()
    restore = enable_oidc(app, provider, public_url="http://testserver")
    yield provider
    restore()
    provider.stop()


@pytest.fixture
async def matrix_world(make_user):
    author, staff = await make_user(), await make_user(Role.STAFF)
    moderator, admin, target = await make_user(Role.MODERATOR), await make_user(Role.ADMIN), await make_user()
    world = World(author, staff, moderator, admin, target, make_user)
    await world.setup()
    return world


async def test_authorisation_matrix(app, anon, make_user, matrix_world, client_factory, oidc_on):
    routes = {(m, r.path) for r in app.routes if isinstance(r, Route) and r.path not in SKIPPED
              for m in (r.methods or {"GET"}) if m != "HEAD"}
    assert routes - set(SPEC) == set(), f"routes without a matrix entry: {sorted(routes - set(SPEC))}"
    assert set(SPEC) - routes == set(), f"matrix entries without a route: {sorted(set(SPEC) - routes)}"
    policy = (await anon.get("/api/v1/consent")).json()["policy"]["version"]
    makers = await _role_clients(make_user, anon, matrix_world.moderator)
    world = matrix_world
    results: dict[tuple[str, str, str], str] = {}
    for role in ROLES:
        shared = await makers[role]()
        for (method, route_path), (kind, body) in sorted(SPEC.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            for state in STATES[kind] + EXTRA_STATES.get((method, route_path), []):
                if (state in ("own", LOCKED) and role not in AUTHORS) or (state == ASKED and role not in ASKERS):
                    results[(f"{method} {route_path}", state, role)] = "n/a"
                    continue
                # a fresh signed-in client for the writes that sign out, withdraw, erase or sign in again, from an
                # address of its own (failed sign-ins must not throttle the rest of the suite's address)
                client = shared
                if (method, route_path) in SESSION_CHANGING:
                    client = elsewhere(app, await makers[role]() if role != "visitor" else client_factory())
                elif role == "visitor" and method != "GET":
                    client = client_factory()
                obj = await world.obj(kind, state, client if role != "visitor" else None, fresh=method != "GET")
                path = _path(route_path, obj)
                response = await _request(client, method, path, _fill(body, world, obj), policy)
                assert response.status_code < 500, (role, method, path, response.text[:300])
                results[(f"{method} {route_path}", state, role)] = answer(response)
                if kind == "post" and method == "GET" and response.status_code == 200 and state in ("hidden",
                                                                                                     "deleted"):
                    results[(f"{method} {route_path}", state, role)] += "*" if "Et svar" in response.text else ""
    violations = check_rules(results)
    assert violations == [], violations[:20]
    table = render(results)
    if os.environ.get("FORUM_UPDATE_MATRIX"):
        MATRIX.parent.mkdir(exist_ok=True)
        MATRIX.write_text(table)
    assert MATRIX.read_text() == table, "answers changed: review, then FORUM_UPDATE_MATRIX=1 to regenerate"


def _ok(answer_text: str) -> bool:
    if answer_text == "n/a":
        return False
    return answer_text[0] == "2" or (answer_text.startswith("303") and "login" not in answer_text)


def check_rules(results: dict) -> list[str]:
    bad = []
    for (route, state, role), got in results.items():
        method, path = route.split(" ", 1)
        key = (method, path)
        write = method != "GET"
        if role == "visitor" and write and key not in VISITOR_WRITES and _ok(got):
            bad.append(f"visitor wrote: {route} [{state}] -> {got}")
        if (path.startswith("/mod") or path.startswith("/api/v1/mod")) and role not in ("moderator", "admin") \
                and _ok(got):
            bad.append(f"{role} reached moderation: {route} [{state}] -> {got}")
        if path.startswith("/admin") or (path.startswith("/api/v1/categories") and write):
            if role != "admin" and _ok(got):
                bad.append(f"{role} reached administration: {route} [{state}] -> {got}")
        if key in PARTICIPATE and role in ("member", "withdrawn", "suspended", "visitor") and _ok(got):
            bad.append(f"{role} took part: {route} [{state}] -> {got}")
        if key in POSTING and role in ("silenced", "suspended", "visitor") and _ok(got):
            bad.append(f"{role} posted: {route} [{state}] -> {got}")
        if state == "staff-only" and role not in ("staff", "moderator", "admin") and _ok(got):
            bad.append(f"{role} saw staff-only: {route} -> {got}")
        if path == "/files/{token}" and state in FILE_HIDDEN and role not in ("moderator", "admin") and _ok(got):
            bad.append(f"{role} saw a file of a post they may not see: [{state}] -> {got}")
        if path.startswith("/api/v1/uploads/") and _ok(got):
            bad.append(f"{role} removed another's upload -> {got}")
        if path == "/files/{token}" and state in ("author withdrew",) and _ok(got):
            bad.append(f"{role} saw a withdrawn member's file -> {got}")
        if got.endswith("*") and role not in ("moderator", "admin"):
            bad.append(f"{role} saw the text of a {state} post: {route} -> {got}")
        edits = "edit" in path or path == "/api/v1/posts/{post_id:int}" or path.endswith("/replace")
        if state == "other" and method in ("PATCH", "POST") and edits and role not in ("moderator", "admin") \
                and _ok(got):
            bad.append(f"{role} edited another's post: {route} -> {got}")
    return bad


def render(results: dict) -> str:
    lines = [
        "# Authorisation matrix",
        "",
        "Generated by `tests/test_authorisation.py` from real requests (one per cell, on fresh objects) and",
        "asserted by it: the test fails when an answer changes and this file was not regenerated",
        "(`FORUM_UPDATE_MATRIX=1 python -m pytest tests/test_authorisation.py`), and when an answer breaks",
        "one of the rules listed in that test. `303→login`: sent to sign in; `*`: the post's text was in the page.",
        "Object states: own / other (another user's), hidden (by a moderator), deleted, staff-only (in a category",
        "only staff may read); for categories, public / staff-only. For the routes they matter to: admin's (a post",
        "by an admin), own, locked topic (one's own reply in a topic since locked), answer to own question (another's",
        "reply to a question the role asked).",
        "",
        "| route | object | " + " | ".join(ROLES) + " |",
        "|---|---|" + "---|" * len(ROLES),
    ]
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for (route, state, role), got in results.items():
        rows.setdefault((route, state), {})[role] = got
    for (route, state), cells in sorted(rows.items(), key=lambda kv: (kv[0][0].split(" ", 1)[1], kv[0][0], kv[0][1])):
        lines.append(f"| `{route}` | {state} | " + " | ".join(cells.get(r, "") for r in ROLES) + " |")
    cells = len(results)
    lines += ["", f"{len(rows)} route × object rows, {len(ROLES)} roles, {cells} cells.", ""]
    return "\n".join(lines)
