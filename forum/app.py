"""The application factory: settings, ORM in the lifespan, middleware, routes of every package."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from tortoise.contrib.starlette import RegisterTortoise

import moderation
from forum import cook_pool
from forum.api import accounts as api_accounts
from forum.api import composer as api_composer
from forum.api import consent as api_consent
from forum.api import content as api_content
from forum.api import openapi
from forum.api import password as api_password
from forum.api import preview as api_preview
from forum.api import uploads as api_uploads
from forum.db.config import tortoise_config
from forum.hub import hub
from forum.limits import BodyLimitsMiddleware
from forum.passwords import Passwords
from forum.route_index import index_routes
from forum.security import SecurityHeadersMiddleware, set_hash_key
from forum.services import (
    attachments,
    background,
    byte_purge,
    composer_drafts,
    live,
    mail_choices,
    mail_worker,
    ocr,
    ocr_worker,
    oidc,
    outbox,
    pending_uploads,
    rate_limits,
    search,
    verification,
    withdrawal_scope,
)
from forum.services import consent as consent_service
from forum.settings import Settings, load_settings
from forum.templating import make_templates
from forum.viewer import ViewerMiddleware
from forum.web import accounts as web_accounts
from forum.web import admin, composer, consent, files, findable, health, home, posts, profiles, topics
from forum.web import live as web_live
from forum.web import mail as web_mail
from forum.web import notifications as web_notifications
from forum.web import oidc as web_oidc
from forum.web import password as web_password
from forum.web import picture_replacing as web_picture_replacing
from forum.web import search as web_search
from forum.web import settings as web_settings
from forum.web.assets import STATIC_DIR, HashedStaticFiles
from forum.web.errors import EXCEPTION_HANDLERS
from forum.web.page_cache import PageCache, build_id
from forum.web.post_cards import CardCache


def routes() -> list[Route | Mount]:
    return [
        *home.routes,
        *findable.routes,
        *web_accounts.routes,
        *web_password.routes,
        *web_settings.routes,
        *web_mail.routes,
        *web_oidc.routes,
        *web_live.routes,  # before topics: /t/{id}/{slug} would match /t/{id}/_events
        *topics.routes,
        *composer.routes,
        *posts.routes,
        *files.routes,
        *web_picture_replacing.routes,
        *profiles.routes,
        *web_notifications.routes,
        *web_search.routes,
        *admin.routes,
        *consent.routes,
        *health.routes,
        *moderation.routes(),
        *api_accounts.routes,
        *api_content.routes,
        *api_uploads.routes,
        *api_consent.routes,
        *api_preview.routes,
        *api_composer.routes,
        *api_password.routes,
        *openapi.routes,
        Mount("/static", HashedStaticFiles(STATIC_DIR), name="static"),
    ]


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    logging.basicConfig(level=logging.INFO)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        async with RegisterTortoise(app, config=tortoise_config(settings.database_url, settings)):
            await hub.start(settings.database_url)  # PostgreSQL: this process's one LISTEN connection
            cook_pool.start(settings.cook_processes)  # worker processes for Markdown (forum/cook_pool.py)
            worker = mail_worker.start(app) if settings.mail_worker else None
            reader = ocr_worker.start() if settings.ocr_worker else None
            try:
                yield
            finally:
                if reader is not None:
                    await background.stop_worker(*reader)
                if worker is not None:
                    await background.stop_worker(*worker)
                await byte_purge.stop()  # issue 16: a withdrawal's purge still running finishes or stays pending
                cook_pool.stop()
                await hub.stop()

    app = Starlette(
        debug=False,
        routes=routes(),
        middleware=[
            Middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies,
                       form_targets=oidc.form_targets(settings.oidc)),
            Middleware(BodyLimitsMiddleware),
            Middleware(ViewerMiddleware, default_locale=settings.default_locale),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    index_routes(app.router)  # forum/route_index.py: the same route Starlette's loop finds, without trying 37 first
    app.state.settings = settings
    set_hash_key(settings.secret_key)
    app.state.templates = make_templates()
    app.state.passwords = Passwords(settings.argon2_profile, settings.password_hashes_at_once)
    app.state.openapi = None
    app.state.page_cache = PageCache(settings.page_cache_mb * 1024 * 1024)
    app.state.member_pages = CardCache(settings.member_page_cache_mb * 1024 * 1024)  # forum/web/member_pages.py
    app.state.build_id = build_id()
    app.state.oidc = oidc.make_provider(settings.oidc)
    app.state.templates.env.globals["registration_open"] = web_oidc.registration_open  # off with FORUM_OIDC_ONLY
    search.configure(settings.search_recent_posts)
    rate_limits.configure(app)
    withdrawal_scope.configure(settings.withdrawal_ordinary_posts)
    consent_service.configure(settings)
    moderation.install(app)
    live.install()
    oidc.install()
    outbox.configure(settings)
    composer_drafts.configure(settings)
    outbox.install()
    mail_choices.install()
    attachments.configure(settings)
    attachments.install()
    pending_uploads.install()
    ocr.configure(settings)
    app.state.templates.env.globals["attachments_per_post"] = settings.attachments_per_post
    verification.install(settings)
    return app
