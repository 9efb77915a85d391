"""The try-it page (GET /, GET /static/...) and the company list it offers (GET /v1/companies).

Plain HTML, CSS and JavaScript in services/gateway/edge/static: nothing to build, so what the
repository holds is exactly what the browser runs. The company list comes from the same
profiles file the router reads (ROUTER_COMPANIES_FILE), so the page offers what routing does.
A ZPL result is previewed with the ZPL renderer's browser bundle (edge/zpl_bundle.py).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from services.companies.profiles import Profile, load_profiles
from services.gateway.edge import zpl_bundle
from services.render.symbologies import CATALOGUE
from services.render.zpl_render import modules_dir

STATIC = Path(__file__).resolve().parent / "static"
# 'wasm-unsafe-eval': the ZPL preview compiles the renderer's WebAssembly. It allows no JavaScript
# eval and no script from anywhere but here.
CSP = ("default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
# no-cache: revalidated on every load, so a deployment's new page and script arrive together.
PAGE_HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache"}


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

    # The files there at start, by name: nothing else (no subfolders, no "..") can be asked for.
    files = {path.name: path for path in STATIC.iterdir() if path.is_file()}

    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)

    async def static_file(request: web.Request) -> web.FileResponse:
        path = files.get(request.match_info["name"])
        if path is None:
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers=PAGE_HEADERS)

    async def company_list(request: web.Request) -> web.Response:
        return web.json_response({"companies": companies})

    app.router.add_get("/", index)
    app.router.add_get("/v1/companies", company_list)
    app.router.add_get("/static/{name}", static_file)
    app.router.add_get(zpl_bundle.PATH, zpl_bundle.handler(modules_dir()))
