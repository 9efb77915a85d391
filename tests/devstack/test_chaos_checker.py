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


def test_the_longest_gap_counts_from_the_fault_to_the_first_result_after_it() -> None:
    from devstack.chaos import longest_gap

    # Results at 1, 2, 9 (a 7 s hole), the fault from 0.5 to 10, the next result at 13.
    assert longest_gap([0.0, 1.0, 2.0, 9.0, 13.0, 14.0], 0.5, 10.0) == 7.0
    assert longest_gap([0.0, 1.0, 30.0], 0.5, 10.0) == 29.0  # nothing until well after it ended
    assert longest_gap([], 0.5, 10.0) == 9.5
