"""The try-it page (GET /, GET /static/...) and the company list it offers (GET /v1/companies).

Plain HTML, CSS and JavaScript in services/gateway/static: nothing to build, so what the
repository holds is exactly what the browser runs. The company list comes from the same
profiles file the router reads (ROUTER_COMPANIES_FILE), so the page offers what routing does.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from services.router.profiles import Profile, load_profiles
from services.symbologies import CATALOGUE

STATIC = Path(__file__).resolve().parent / "static"


def describe_companies(profiles: dict[str, Profile]) -> list[dict[str, Any]]:
    every = frozenset(CATALOGUE)
    return [{
        "name": p.name,
        "symbology": p.symbology,
        "format": p.format,
        "options": p.options,
        "allowed_symbologies": "*" if p.allowed_symbologies == every else sorted(p.allowed_symbologies),
        "allowed_formats": sorted(p.allowed_formats),
        "verify": p.verify,
    } for p in profiles.values()]


def add_page_routes(app: web.Application, companies_file: str) -> None:
    companies = describe_companies(load_profiles(Path(companies_file)))

    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def company_list(request: web.Request) -> web.Response:
        return web.json_response({"companies": companies})

    app.router.add_get("/", index)
    app.router.add_get("/v1/companies", company_list)
    app.router.add_static("/static", STATIC, append_version=False)
