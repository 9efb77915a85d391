"""A company's enrichment endpoint for the end-to-end tests: `python -m tests.support.partner PORT`.
Answers render parameters, or 503 for data starting with FAIL."""
from __future__ import annotations

import sys

from aiohttp import web


async def params(request: web.Request) -> web.Response:
    body = await request.json()
    if str(body.get("data", "")).startswith("FAIL"):
        return web.json_response({"error": "partner down"}, status=503)
    return web.json_response({"format": "svg", "options": {"module_height": 9}})


if __name__ == "__main__":
    app = web.Application()
    app.router.add_post("/params", params)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
