"""`/healthz`: 200 when the database answers, 503 otherwise (for load balancers and monitors)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from forum import db


async def healthz(request: Request) -> Response:
    try:
        await db.fetch_one("SELECT 1 AS ok")
    except Exception:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})


routes = [Route("/healthz", healthz, methods=["GET"], name="healthz")]
