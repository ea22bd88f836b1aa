"""`/admin`: categories and roles (consent and moderation statistics join it with their features)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from forum.errors import ValidationFailed
from forum.models import Category, Role
from forum.services import accounts, categories
from forum.services.permissions import check_admin
from forum.web.common import field, path_for, read_form, render


async def admin_page(request: Request, errors: dict | None = None, values: dict | None = None,
                     status: int = 200) -> Response:
    check_admin(request.state.viewer)
    return render(request, "admin.html", {"categories": await Category.all().order_by("position", "id"),
                                          "errors": errors or {}, "values": values or {},
                                          "roles": [r.value for r in Role],
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


async def admin(request: Request) -> Response:
    return await admin_page(request)


routes = [
    Route("/admin", admin, methods=["GET"], name="admin"),
    Route("/admin/categories", add_category, methods=["POST"], name="admin_add_category"),
    Route("/admin/roles", set_role, methods=["POST"], name="admin_set_role"),
]
