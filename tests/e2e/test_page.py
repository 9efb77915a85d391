"""The try-it page in a real browser (Debian's Chromium driven by Playwright) against the real
stack: generate and decode what the page shows, a validation error next to its field, a socket
that drops and comes back with a result that completed meanwhile, a batch of five, an API key
pasted and forgotten, the page under its Content-Security-Policy, a ZPL label drawn in the
browser by the renderer the page loads only then, and GS1 data typed as AIs, as a GS1 Digital Link
or in the order typed."""
from __future__ import annotations

import asyncio
import io
import os
import re
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, Response, WebSocketRoute, async_playwright, expect

from devstack.install import CHROMIUM
from tests.e2e.page_helpers import Sockets, Violations, shown_image
from tests.support.decode import decode
from tests.support.keys import KEY_A

# `make screenshots` points this at docs/screenshots (the README's picture); plain runs keep
# theirs in .local so a test run leaves the work tree clean.
SCREENSHOTS = Path(os.environ.get("BARCODE_SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / ".local" / "screenshots"))
# Scripts, styles and connections from the gateway only (and WebAssembly compiled, for the ZPL
# preview); images also from what the page made itself (blob: URLs of files it fetched with the
# key, data: URLs of drawn labels); never framed.
STRICT_CSP = ("default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
              "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
              "form-action 'none'")
ZPL_RENDERER = "/static/zpl/zpl-renderer.js"  # the ~9 MB bundle the page imports for a ZPL result
# Without the background-networking flags Chromium keeps calling Google's hosts, which this
# machine's closed network refuses.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser: Browser, gateway_a: str) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1100, "height": 900})
    page = await context.new_page()
    await page.goto(gateway_a)
    await expect(page.get_by_role("status")).to_have_text("connected", timeout=20_000)
    yield page
    await context.close()


async def _generate(page: Page, data: str, symbology: str = "code128") -> None:
    await page.get_by_label("Symbology", exact=True).select_option(symbology)
    await page.get_by_label("Data").fill(data)
    await page.get_by_label("Data").press("Enter")


async def test_generate_shows_the_barcode_and_its_timeline(page: Page, gateway_a: str) -> None:
    data = f"PAGE-{uuid.uuid4().hex[:8]}"
    await _generate(page, data)
    await expect(page.locator("#result-image")).to_be_visible(timeout=20_000)
    await expect(page.locator("#result-verified")).to_have_text("scan-verified ✓")
    await expect(page.locator("#result-pixels")).to_contain_text(" px")
    steps = await page.locator("#timeline li").all_inner_texts()
    assert [s.split(" ")[0] for s in steps] == ["accepted", "routed", "rendered", "stored", "delivered"]
    assert all(s.endswith(" ms") for s in steps), steps
    assert decode(await shown_image(page), "image/png") == [data]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "page.png"), full_page=True)


async def test_the_same_barcode_again_shows_the_skipped_render_and_no_cache_claim(page: Page) -> None:
    data = f"TWICE-{uuid.uuid4().hex[:8]}"
    for _ in range(2):
        await _generate(page, data)
        await expect(page.locator("#result-image")).to_be_visible(timeout=20_000)
    # The test stack runs one generator, which remembers the key it stored: no second render.
    await expect(page.locator("#timeline li").nth(2)).to_have_text("rendered: skipped")
    await expect(page.locator("#timeline li").nth(3)).to_contain_text("stored ")
    # Whether someone made the same barcode before is not the caller's business (issue 14 item 10).
    await expect(page.locator("#result")).not_to_contain_text("cached")


async def test_steps_whose_progress_messages_were_lost_are_filled_in_from_the_trace(browser: Browser,
                                                                                   gateway_a: str) -> None:
    context = await browser.new_context()
    page = await context.new_page()

    async def drop_progress(ws: WebSocketRoute) -> None:  # between the page and the real gateway
        server = ws.connect_to_server()
        server.on_message(lambda message: None if '"type":"progress"' in str(message).replace(" ", "")
                          else ws.send(message))

    await page.route_web_socket(re.compile(r".*/v1/ws.*"), drop_progress)
    await page.goto(gateway_a)
    await expect(page.get_by_role("status")).to_have_text("connected", timeout=20_000)
    await _generate(page, f"LOST-{uuid.uuid4().hex[:8]}")
    await expect(page.locator("#result-image")).to_be_visible(timeout=20_000)
    steps = await page.locator("#timeline li").all_inner_texts()
    assert [s.split(" ")[0] for s in steps] == ["accepted", "routed", "rendered", "stored", "delivered"]
    assert all(s.endswith(" ms") for s in steps), steps
    await context.close()


async def test_bad_ean13_shows_the_error_next_to_the_data(page: Page) -> None:
    await _generate(page, "4006381333932", symbology="ean13")  # check digit should be 1
    error = page.locator("#data-error")
    await expect(error).to_contain_text("invalid_check_digit", timeout=20_000)
    await expect(page.locator("#history .status").first).to_have_text(" · failed")


async def test_dropped_socket_reconnects_and_gets_what_completed_meanwhile(page: Page, gateway_a: str) -> None:
    sockets = Sockets.watch(page)
    await _generate(page, f"BEFORE-{uuid.uuid4().hex[:8]}")  # a result read before the drop: a last_seq
    await expect(page.locator("#result-image")).to_be_visible(timeout=20_000)
    client_id = await page.evaluate("barcodePage.clientId()")
    token = await page.evaluate("sessionStorage.getItem('barcode.resume_token')")
    await page.evaluate("barcodePage.dropSocket(3000)")
    await expect(page.get_by_role("status")).to_have_text("reconnecting…")
    data = f"AWAY-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as session:
        # Pushing to a client's socket over REST takes that client's token (same caller: this host).
        async with session.post(f"{gateway_a}/v1/jobs", json={"data": data, "client_id": client_id},
                                headers={"X-Resume-Token": token}) as resp:
            job_id = (await resp.json())["job_id"]
        async with session.get(f"{gateway_a}/v1/jobs/{job_id}", params={"wait": "20"}) as resp:
            assert (await resp.json())["status"] == "completed"
    await expect(page.get_by_role("status")).to_have_text("connected (resumed)", timeout=20_000)
    # The page did not submit it, so it names the job by its id.
    await expect(page.locator("#history button", has_text=job_id[:8])).to_contain_text("completed", timeout=20_000)
    jobs = await page.evaluate("barcodePage.jobs()")
    assert [j["status"] for j in jobs if j["jobId"] == job_id] == ["completed"]
    # The resume went in the socket's first message, not in its URL (query strings get logged).
    [(url, sent)] = sockets.opened
    assert "?" not in url
    resume = sent[0]
    assert (resume["type"], resume["client_id"], resume["resume_token"]) == ("resume", client_id, token)
    assert isinstance(resume["last_seq"], int) and resume["last_seq"] >= 0
    assert await page.evaluate("localStorage.length") == 0


async def test_a_refused_resume_token_starts_a_fresh_client_once(browser: Browser, gateway_a: str) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(gateway_a)
    await expect(page.get_by_role("status")).to_have_text("connected", timeout=20_000)
    client_id = await page.evaluate("barcodePage.clientId()")
    # Stands in for a token that expired or was issued to another identity.
    await page.evaluate("sessionStorage.setItem('barcode.resume_token', '1.' + 'A'.repeat(43))")
    sockets = Sockets.watch(page)
    await page.reload()
    await expect(page.get_by_role("status")).to_have_text("connected", timeout=20_000)
    await _generate(page, f"FRESH-{uuid.uuid4().hex[:8]}")  # the fresh client works
    await expect(page.locator("#result-image")).to_be_visible(timeout=20_000)
    # The refused token was offered once, then dropped: one fresh socket, no reconnect loop.
    assert [first and first["type"] for first in sockets.first_messages()] == ["resume", "generate"]
    assert await page.evaluate("barcodePage.clientId()") != client_id
    await context.close()


async def test_a_pasted_key_makes_its_company_s_jobs_and_forgetting_it_refuses_them(browser: Browser,
                                                                                     gateway_a: str) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    sockets = Sockets.watch(page)
    await page.goto(gateway_a)
    await expect(page.get_by_role("status")).to_have_text("connected", timeout=20_000)
    await page.get_by_label("Paste a key").fill(KEY_A)
    await page.get_by_role("button", name="Use key").click()
    await expect(page.locator("#key-status")).to_contain_text("CompanyA", timeout=20_000)
    await expect(page.get_by_label("Company", exact=True)).to_have_value("CompanyA")
    await expect(page.get_by_role("status")).to_have_text("connected")
    # The key: first on the socket, kept in this tab's session storage only, in no URL.
    assert sockets.first_messages()[-1] == {"type": "auth", "api_key": KEY_A}
    assert all("?" not in url for url, _ in sockets.opened)
    assert await page.evaluate("sessionStorage.getItem('barcode.api_key')") == KEY_A
    assert await page.evaluate("localStorage.length") == 0
    assert await page.get_by_label("Paste a key").input_value() == ""

    data = f"KEYED-{uuid.uuid4().hex[:8]}"
    await _generate(page, data)
    await expect(page.locator("#result-company")).to_have_text("CompanyA", timeout=20_000)
    # CompanyA's file is readable with its key only: the page fetched it with X-API-Key.
    await expect(page.locator("#result-pixels")).to_contain_text(" px", timeout=20_000)
    assert decode(await shown_image(page), "image/png") == [data]

    # A reconnect authenticates before it resumes: the token is bound to the key.
    client_id = await page.evaluate("barcodePage.clientId()")
    await page.evaluate("barcodePage.dropSocket()")
    await expect(page.get_by_role("status")).to_have_text("connected (resumed)", timeout=20_000)
    sent = sockets.opened[-1][1]
    assert [m["type"] for m in sent[:2]] == ["auth", "resume"] and sent[1]["client_id"] == client_id

    await page.get_by_role("button", name="Forget key").click()
    await expect(page.locator("#key-status")).to_have_text("No key: anonymous.")
    await expect(page.get_by_role("status")).to_have_text("connected", timeout=20_000)
    assert await page.evaluate("sessionStorage.getItem('barcode.api_key')") is None
    await page.get_by_label("Company", exact=True).select_option("CompanyA")
    await _generate(page, f"NOKEY-{uuid.uuid4().hex[:8]}")
    await expect(page.locator("#company-error")).to_contain_text("company_not_allowed", timeout=20_000)
    await context.close()


async def test_a_refused_key_is_shown_and_not_offered_again(page: Page) -> None:
    sockets = Sockets.watch(page)
    await page.get_by_label("Paste a key").fill("not-a-key")
    await page.get_by_role("button", name="Use key").click()
    await expect(page.locator("#key-error")).to_contain_text("invalid_api_key", timeout=20_000)
    await expect(page.locator("#key-status")).to_have_text("No key: anonymous.")
    await expect(page.get_by_role("status")).to_have_text("connected")
    assert await page.evaluate("sessionStorage.getItem('barcode.api_key')") is None
    # The next socket goes on anonymously: a refused key sent on every reconnect would only
    # count failed attempts against this address.
    await page.evaluate("barcodePage.dropSocket()")
    await expect(page.get_by_role("status")).to_have_text("connected (resumed)", timeout=20_000)
    assert [first and first["type"] for first in sockets.first_messages()] == ["auth", "resume"]


async def test_the_page_works_under_a_strict_content_security_policy(browser: Browser, gateway_a: str) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    violations = await Violations.watch(page)
    headers: dict[str, str | None] = {}

    async def keep_csp(response: Response) -> None:
        headers[urlsplit(response.url).path] = await response.header_value("Content-Security-Policy")

    page.on("response", keep_csp)
    await page.goto(gateway_a)
    await expect(page.get_by_role("status")).to_have_text("connected", timeout=20_000)
    for path in ("/", "/static/app.js", "/static/style.css"):
        assert headers.get(path) == STRICT_CSP, path
    data = f"CSP-{uuid.uuid4().hex[:8]}"
    await _generate(page, data)
    await expect(page.locator("#result-pixels")).to_contain_text(" px", timeout=20_000)
    assert decode(await shown_image(page), "image/png") == [data]
    assert await violations.all() == []
    # The policy is enforced, and a violation would be seen: an injected inline script is refused.
    ran = await page.evaluate("""() => { const script = document.createElement("script");
        script.textContent = "window.injected = true"; document.body.append(script); return window.injected === true; }""")
    assert ran is False
    for _ in range(50):
        if await violations.all():
            break
        await asyncio.sleep(0.1)
    assert any("script-src" in v for v in await violations.all())
    await context.close()


async def test_another_site_cannot_show_the_page_in_a_frame(browser: Browser, gateway_a: str) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    sockets = Sockets.watch(page)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    # A real server on another loopback port: Chromium refuses a loopback frame in a page whose
    # address it does not know (one a Playwright route made up) anyway, which would prove nothing.
    async def embedding(request: web.Request) -> web.Response:
        return web.Response(content_type="text/html", text=f'<iframe title="framed" src="{gateway_a}/"></iframe>')

    app = web.Application()
    app.router.add_get("/", embedding)
    async with TestServer(app, host="127.0.0.1") as embedder:
        await page.goto(str(embedder.make_url("/")))  # returns once the frame has loaded, or failed to
    [framed] = page.main_frame.child_frames
    assert await framed.locator("#connection").count() == 0
    assert f"{gateway_a}/static/app.js" not in requested and sockets.opened == []
    await context.close()


async def test_a_batch_of_five_shows_each_job(page: Page) -> None:
    values = [f"BATCH-{uuid.uuid4().hex[:6]}-{n}" for n in range(5)]
    await page.get_by_label("Data").fill("\n".join(values))
    await page.get_by_role("button", name="Generate").click()
    for value in values:
        item = page.locator("#history button", has_text=value)
        await expect(item).to_contain_text("completed", timeout=30_000)
        await expect(item.locator("img")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "batch.png"), full_page=True)


async def test_a_pasted_csv_is_checked_then_sent_and_its_progress_survives_a_reload(page: Page) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    csv = "data,symbology\n" + "".join(f"{tag}{n:04d},code128\n" for n in range(800)) + "12345,ean13\n"
    await page.get_by_label("Or paste CSV").fill(csv)
    # Checked by the server before anything is sent: the row count and the row that cannot be valid.
    await expect(page.locator("#batch-check")).to_have_text("801 rows: 800 valid, 1 with errors", timeout=15_000)
    await expect(page.locator("#batch-errors li")).to_have_text(re.compile(r"^row 801: .*\(invalid_length\)$"))
    await page.get_by_label("Label sheet").select_option("avery-l7163")
    await page.get_by_role("button", name="Send batch (801 rows)").click()
    await expect(page.locator("#batch-status")).to_contain_text("rows/s", timeout=20_000)
    await page.reload()  # the connection and the page go; the batch's progress comes back
    await expect(page.get_by_role("status")).to_have_text("connected (resumed)", timeout=20_000)
    await expect(page.locator("#batch-status")).to_contain_text("completed: 801 of 801 rows, 1 failed", timeout=90_000)
    assert await page.locator("#batch-progress").evaluate("p => [p.value, p.max]") == [801, 801]
    await expect(page.locator("#batch-status")).to_contain_text("800 labels on the sheet")
    await expect(page.locator("#batch-failed li")).to_have_text(re.compile(r"^row 801: .*\(invalid_length\)$"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "batch-sheet.png"), full_page=True)
    async with aiohttp.ClientSession() as session:
        async with session.get(await page.locator("#batch-zip").get_attribute("href") or "") as resp:
            archive = await resp.read()
        async with session.get(await page.locator("#batch-pdf").get_attribute("href") or "") as resp:
            assert resp.status == 200 and (await resp.read()).startswith(b"%PDF-")
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        assert len(zf.namelist()) == 802  # 800 files, the manifest and labels.zpl


async def test_a_dropped_csv_file_is_read_and_checked(page: Page, tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("data,symbology\nDROP-1,qrcode\nDROP-2,nosuch\n")
    await page.locator("#batch-file").set_input_files(str(path))
    await expect(page.get_by_label("Or paste CSV")).to_have_value(path.read_text())
    await expect(page.locator("#batch-check")).to_have_text("2 rows: 1 valid, 1 with errors", timeout=15_000)
    await expect(page.locator("#batch-errors li")).to_contain_text("(unknown_symbology)")


async def test_keyboard_only_on_a_phone_width_screen_with_every_control_labelled(browser: Browser,
                                                                                  gateway_a: str) -> None:
    context = await browser.new_context(viewport={"width": 375, "height": 800}, is_mobile=True)
    page = await context.new_page()
    try:
        await page.goto(gateway_a)
        await expect(page.get_by_role("status")).to_have_text("connected", timeout=20_000)
        await page.locator("#options-box summary").click()  # generated option inputs need labels too
        unlabelled = await page.evaluate("""() => [...document.querySelectorAll('input, select, textarea, button')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                         && !(e.tagName === 'BUTTON' && e.textContent.trim()))
            .map(e => e.id || e.outerHTML.slice(0, 80))""")
        assert unlabelled == []
        assert await page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling
        # From the top of the page to the data field with Tab alone, then Enter.
        for _ in range(40):
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement.id") == "data":
                break
        assert await page.evaluate("document.activeElement.id") == "data"
        await page.keyboard.type(f"KEYS-{uuid.uuid4().hex[:8]}")
        await page.keyboard.press("Enter")
        await expect(page.locator("#result-image")).to_be_visible(timeout=20_000)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "phone.png"), full_page=True)
    finally:
        await context.close()


async def test_a_result_offers_its_image_url_which_serves_the_same_barcode(browser: Browser, gateway_a: str) -> None:
    """"Copy image URL" and "Copy <img> tag": the URL GET /v1/barcode answers with the same
    barcode (its own job, whose file the generator finds stored), and the tag is that URL escaped."""
    context = await browser.new_context(viewport={"width": 1100, "height": 900})
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = await context.new_page()
    await page.goto(gateway_a)
    await expect(page.get_by_role("status")).to_have_text("connected", timeout=20_000)
    data = f"URL-{uuid.uuid4().hex[:8]}"
    await _generate(page, data)
    await expect(page.locator("#result-image")).to_be_visible(timeout=20_000)
    await page.get_by_role("button", name="Copy image URL").click()
    url = await page.evaluate("navigator.clipboard.readText()")
    assert url == await page.locator("#image-url").input_value()
    assert urlsplit(url).path == "/v1/barcode" and data in url
    await page.get_by_role("button", name="Copy <img> tag").click()
    tag = await page.evaluate("navigator.clipboard.readText()")
    assert tag.startswith('<img src="') and url.replace("&", "&amp;") in tag
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as resp:
            assert resp.status == 200, await resp.text()
            assert decode(await resp.read(), resp.headers["Content-Type"]) == [data]
    await context.close()


async def _generate_zpl(page: Page, data: str, dpmm: int) -> None:
    await page.get_by_label("Symbology", exact=True).select_option("qrcode")
    await page.get_by_label("Format", exact=True).select_option("zpl")
    await page.locator("#options-box summary").click()
    await page.get_by_label("dpmm", exact=True).select_option(str(dpmm))
    await page.get_by_label("Data").fill(data)
    await page.get_by_label("Data").press("Enter")


def _renderer_requests(page: Page) -> list[str]:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url)
            if urlsplit(request.url).path == ZPL_RENDERER else None)
    return requested


async def test_a_zpl_result_shows_its_label_drawn_in_the_browser_beside_its_text(browser: Browser,
                                                                                 gateway_a: str) -> None:
    """The label as zebrash draws it (decoded to its data), its text, a .zpl download; the ~9 MB
    renderer is fetched for it and not before (not with the page, not for a PNG result), under
    the page's CSP without a violation."""
    context = await browser.new_context(viewport={"width": 1100, "height": 900})
    page = await context.new_page()
    violations = await Violations.watch(page)
    requested = _renderer_requests(page)
    await page.goto(gateway_a)
    await expect(page.get_by_role("status")).to_have_text("connected", timeout=20_000)
    await _generate(page, f"NOT-ZPL-{uuid.uuid4().hex[:8]}")
    await expect(page.locator("#result-pixels")).to_contain_text(" px", timeout=20_000)
    assert requested == []

    data = f"PAGE-ZPL-{uuid.uuid4().hex[:8]}"
    await _generate_zpl(page, data, dpmm=12)
    await expect(page.get_by_label("ZPL label text")).to_have_text(re.compile(r"^\^XA\^PW\d+\^LL\d+"), timeout=20_000)
    preview = page.locator(".zpl #result-image")
    await expect(preview).to_be_visible(timeout=20_000)
    await expect(preview).to_have_js_property("complete", True)
    assert decode(await shown_image(page), "image/png") == [data]
    await expect(page.locator("#result-pixels")).to_contain_text("mm at 12 dots/mm")
    download = page.get_by_role("link", name="Download .zpl")
    assert (await download.get_attribute("download") or "").endswith(".zpl")
    assert await page.get_by_role("button", name="Copy <img> tag").count() == 0  # no <img> shows a label
    assert [urlsplit(url).path for url in requested] == [ZPL_RENDERER]
    assert await violations.all() == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "zpl.png"), full_page=True)
    await context.close()


async def test_a_zpl_result_without_its_renderer_shows_the_text_and_says_the_preview_is_unavailable(
        page: Page) -> None:
    await page.route(f"**{ZPL_RENDERER}", lambda route: route.abort())
    await _generate_zpl(page, f"NO-RENDERER-{uuid.uuid4().hex[:8]}", dpmm=8)
    await expect(page.locator("#zpl-preview-status")).to_contain_text("Preview unavailable", timeout=20_000)
    await expect(page.get_by_label("ZPL label text")).to_have_text(re.compile(r"^\^XA"))
    await expect(page.get_by_role("link", name="Download .zpl")).to_be_visible()
    await expect(page.locator("#result-image")).to_have_count(0)
    # The page goes on: the next result is shown as ever.
    await page.get_by_label("Format", exact=True).select_option("png")
    await _generate(page, f"AFTER-{uuid.uuid4().hex[:8]}")
    await expect(page.locator("#result-pixels")).to_contain_text(" px", timeout=20_000)


GTIN = "09506000134352"
GS1_ROWS = [("01", GTIN), ("10", "ABC123"), ("17", "271231")]


async def _fill_gs1(page: Page, rows: list[tuple[str, str]]) -> None:
    await page.get_by_text("GS1 data (AI and value)").click()
    for n, (ai, value) in enumerate(rows, start=1):
        if n > 1:
            await page.get_by_role("button", name="Add an AI").click()
        await page.get_by_label(f"AI, row {n}", exact=True).fill(ai)
        await page.get_by_label(f"Value, row {n}", exact=True).fill(value)


async def test_gs1_fields_with_a_digital_link_at_a_resolver_make_a_qr_code_of_that_link(page: Page) -> None:
    await page.get_by_label("Symbology", exact=True).select_option("qrcode")
    await page.locator("#options-box summary").click()
    # The switch replaces the text field the option's schema would otherwise make: not both.
    await expect(page.locator("#options [data-option=digital_link]")).to_have_count(0)
    await expect(page.get_by_label("Resolver", exact=True)).to_be_disabled()
    await page.get_by_label("Digital Link", exact=True).check()
    await page.get_by_label("Resolver", exact=True).fill("https://id.example.com")
    await _fill_gs1(page, GS1_ROWS)
    await expect(page.get_by_label("Data")).to_be_disabled()  # the AIs are what is sent
    await page.get_by_role("button", name="Generate").click()
    await expect(page.locator("#result-verified")).to_have_text("scan-verified ✓", timeout=20_000)
    await expect(page.locator("#result-image")).to_have_js_property("complete", True)
    link = f"https://id.example.com/01/{GTIN}/10/ABC123?17=271231"
    assert decode(await shown_image(page), "image/png", ("QRCode",)) == [link]
    await expect(page.locator("#result-gs1")).to_have_text(
        f"GS1 element string: (01){GTIN}(10)ABC123(17)271231 · encoded as its GS1 Digital Link at "
        "https://id.example.com")


async def test_keyboard_only_gs1_fields_and_a_digital_link_at_the_company_s_resolver(browser: Browser,
                                                                                    gateway_a: str) -> None:
    """At phone width, from the symbology on with the keyboard alone: the switch ticked with no
    resolver is the company's (Default: GS1's own), and the image URL the page offers makes it too."""
    context = await browser.new_context(viewport={"width": 375, "height": 800}, is_mobile=True)
    page = await context.new_page()

    async def focused() -> str:
        """The focused control's name: its aria-label, else its <label>, else its text."""
        return await page.evaluate("""() => { const e = document.activeElement;
            const label = e.labels && e.labels.length ? e.labels[0].textContent : e.textContent;
            return e.getAttribute("aria-label") || label.trim(); }""")

    try:
        await page.goto(gateway_a)
        await expect(page.get_by_role("status")).to_have_text("connected", timeout=20_000)
        await page.get_by_label("Symbology", exact=True).select_option("qrcode")
        await page.get_by_label("Symbology", exact=True).focus()
        for key in ("Tab", "Tab", "Tab"):  # format, the options' summary, the switch
            await page.keyboard.press(key)
        assert await focused() == "Digital Link"
        await page.keyboard.press("Space")
        await page.keyboard.press("Tab")
        assert await focused() == "Resolver"  # left empty: the company's
        await page.keyboard.press("Tab")
        await page.keyboard.press("Enter")  # opens "GS1 data", with a GTIN row to fill
        await expect(page.get_by_label("AI, row 1", exact=True)).to_have_value("01")
        for n, (ai, value) in enumerate(GS1_ROWS, start=1):
            if n > 1:
                await page.keyboard.press("Tab")  # past "Remove row n-1"
                assert await focused() == "Add an AI"
                await page.keyboard.press("Enter")
            else:
                await page.keyboard.press("Tab")
            assert await focused() == f"AI, row {n}"
            await page.keyboard.press("Control+A")
            await page.keyboard.type(ai)
            await page.keyboard.press("Tab")
            assert await focused() == f"Value, row {n}"
            await page.keyboard.type(value)
            if n < len(GS1_ROWS):
                await page.keyboard.press("Tab")
                assert await focused() == f"Remove row {n}"
        await page.keyboard.press("Enter")  # in the last value: generates
        await expect(page.locator("#result-verified")).to_have_text("scan-verified ✓", timeout=20_000)
        await expect(page.locator("#result-image")).to_have_js_property("complete", True)
        link = f"https://id.gs1.org/01/{GTIN}/10/ABC123?17=271231"
        assert decode(await shown_image(page), "image/png", ("QRCode",)) == [link]
        await expect(page.locator("#result-gs1")).to_contain_text("at Default's resolver")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 375
        url = await page.locator("#image-url").input_value()
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as resp:
                assert resp.status == 200, await resp.text()
                assert decode(await resp.read(), resp.headers["Content-Type"], ("QRCode",)) == [link]
    finally:
        await context.close()


async def test_gs1_fields_keep_their_order_in_a_gs1_128_and_show_only_where_gs1_data_goes(page: Page) -> None:
    await page.get_by_label("Symbology", exact=True).select_option("code128")
    await expect(page.locator("#gs1-box")).to_be_hidden()
    await page.get_by_label("Symbology", exact=True).select_option("gs1_128")
    await expect(page.get_by_text("GS1 data (AI and value)")).to_be_visible()
    await expect(page.get_by_label("Digital Link", exact=True)).to_be_hidden()  # a linear symbol carries no link
    # A lot of its own: the same element string made earlier in the run (test_digital_link's
    # reverse) would be served from the store, shown "not scan-verified" as every stored repeat is.
    lot = f"P{uuid.uuid4().hex[:8].upper()}"
    rows = [("01", GTIN), ("10", lot), ("17", "271231")]
    await _fill_gs1(page, rows + [("21", "")])
    await page.get_by_role("button", name="Generate").click()
    await expect(page.locator("#gs1-error")).to_have_text("Row 4: AI (21) needs a value.")
    await page.get_by_role("button", name="Remove row 4").click()
    await expect(page.get_by_label("AI, row 3", exact=True)).to_be_focused()
    await page.get_by_role("button", name="Generate").click()
    await expect(page.locator("#result-verified")).to_have_text("scan-verified ✓", timeout=20_000)
    await expect(page.locator("#result-image")).to_have_js_property("complete", True)
    # As typed: GTIN first, though a JSON object would have put (10) and (17) before (01).
    assert decode(await shown_image(page), "image/png", ("Code128",)) == [f"(01){GTIN}(10){lot}(17)271231"]
    # Closed, the editor is not used: the Data text is sent again.
    await page.get_by_text("GS1 data (AI and value)").click()
    data = f"AFTER-GS1-{uuid.uuid4().hex[:8]}"
    await _generate(page, data)
    await expect(page.locator("#result-pixels")).to_contain_text(" px", timeout=20_000)
    await expect(page.locator("#current-title")).to_contain_text(data)
    assert decode(await shown_image(page), "image/png") == [data]
    await expect(page.locator("#result-gs1")).to_have_count(0)
