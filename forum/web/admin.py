"""`/admin`: categories, roles, forum policy versions and consent statistics."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from forum.errors import N_, NotFound, ValidationFailed
from forum.models import Category, Role
from forum.params import parse_int
from forum.permissions.categories import check_admin
from forum.services import accounts, categories, consent
from forum.web.common import field, path_for, read_form, render


async def admin_page(request: Request, errors: dict | None = None, values: dict | None = None,
                     status: int = 200, policy_errors: dict | None = None, policy_values: dict | None = None
                     ) -> Response:
    check_admin(request.state.viewer)
    return render(request, "admin.html", {"categories": await Category.all().order_by("position", "id"),
                                          "errors": errors or {}, "values": values or {},
                                          "roles": [r.value for r in Role],
                                          "consent_stats": await consent.consent_statistics(),
                                          "policy": await consent.current_policy(),
                                          "policy_errors": policy_errors or {}, "policy_values": policy_values or {},
                                          "saved": request.query_params.get("saved")}, status=status)


async def add_category(request: Request) -> Response:
    viewer = check_admin(request.state.viewer)
    form = await read_form(request)
    values = {name: field(form, name) for name in ("slug", "name", "description", "read", "start_topics")}
    try:
        await categories.create_category(viewer, **values)
    except ValidationFailed as exc:
        return await admin_page(request, exc.fields, values, status=400)
    return RedirectResponse(path_for(request, "admin", {"saved": "category"}), status_code=303)


async def set_role(request: Request) -> Response:
    viewer = check_admin(request.state.viewer)
    form = await read_form(request)
    await accounts.set_role_by_username(viewer, field(form, "username"), field(form, "role"))
    return RedirectResponse(path_for(request, "admin", {"saved": "role"}), status_code=303)


async def edit_category(request: Request) -> Response:
    viewer = check_admin(request.state.viewer)
    category = await Category.filter(slug=request.path_params["slug"][:64]).first()
    if category is None:
        raise NotFound()
    values = {"name": category.name, "description": category.description, "read": category.read_access.value,
              "start_topics": category.start_topics.value, "position": str(category.position)}
    errors: dict = {}
    if request.method == "POST":
        form = await read_form(request)
        values = {name: field(form, name) for name in values}
        raw_position = values["position"].strip()
        position = parse_int(raw_position, low=-10_000, high=10_000) if raw_position else None
        if raw_position and position is None:
            errors = {"position": N_("Give a whole number.")}
        if not errors:
            try:
                await categories.update_category(viewer, category.slug, name=values["name"],
                                                 description=values["description"], read=values["read"],
                                                 start_topics=values["start_topics"], position=position)
            except ValidationFailed as exc:
                errors = exc.fields
            else:
                return RedirectResponse(path_for(request, "admin", {"saved": "category"}), status_code=303)
    return render(request, "admin_category.html", {"category": category, "values": values, "errors": errors},
                  status=400 if errors else 200)


async def publish_policy(request: Request) -> Response:
    check_admin(request.state.viewer)
    form = await read_form(request)
    values = {"version": field(form, "version"), "text_nb": field(form, "text_nb"), "text_en": field(form, "text_en"),
              "reconsent": field(form, "reconsent") == "yes"}
    try:
        await consent.publish_policy(**values)
    except ValidationFailed as exc:
        return await admin_page(request, status=400, policy_errors=exc.fields, policy_values=values)
    return RedirectResponse(path_for(request, "admin", {"saved": "policy"}), status_code=303)


async def admin(request: Request) -> Response:
    return await admin_page(request)


routes = [
    Route("/admin", admin, methods=["GET"], name="admin"),
    Route("/admin/categories", add_category, methods=["POST"], name="admin_add_category"),
    Route("/admin/roles", set_role, methods=["POST"], name="admin_set_role"),
    Route("/admin/categories/{slug}", edit_category, methods=["GET", "POST"], name="admin_edit_category"),
    Route("/admin/policy", publish_policy, methods=["POST"], name="admin_publish_policy"),
]
