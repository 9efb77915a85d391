"""The chaos checker reads each completed file as the symbology it was asked for."""
from __future__ import annotations

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from devstack.chaos import SYMBOLOGY, _fetch_and_decode
from services.render.api import render
from services.render.symbologies import CATALOGUE


async def test_a_code128_that_also_reads_as_codabar_is_not_a_bad_file() -> None:
    """Found by `make k8s-test`: zint's Code 128 of this data also reads as a Codabar "B$8C"
    when every format is searched, and the rolling-upgrade step called the file bad."""
    data = "CHAOS-590-809609907"
    body = render(CATALOGUE[SYMBOLOGY], data, "png", {}, "zint").body

    async def file(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="image/png")

    app = web.Application()
    app.router.add_get("/file", file)
    async with TestServer(app, host="127.0.0.1") as server, aiohttp.ClientSession() as session:
        assert await _fetch_and_decode(session, str(server.make_url("/file"))) == (data, "")
