"""The try-it page in a real browser (Debian's Chromium driven by Playwright) against the real
stack: generate and decode what the page shows, a validation error next to its field, a socket
that drops and comes back with a result that completed meanwhile, a batch of five."""
from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, Page, WebSocketRoute, async_playwright, expect

from devstack.install import CHROMIUM
from tests.support.client import fetch
from tests.support.decode import decode

# `make screenshots` points this at docs/screenshots (the README's picture); plain runs keep
# theirs in .local so a test run leaves the work tree clean.
SCREENSHOTS = Path(os.environ.get("BARCODE_SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / ".local" / "screenshots"))
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
    image = page.locator("#result-image")
    await expect(image).to_be_visible(timeout=20_000)
    await expect(page.locator("#result-verified")).to_have_text("scan-verified ✓")
    await expect(page.locator("#result-pixels")).to_contain_text(" px")
    steps = await page.locator("#timeline li").all_inner_texts()
    assert [s.split(" ")[0] for s in steps] == ["accepted", "routed", "rendered", "stored", "delivered"]
    assert all(s.endswith(" ms") for s in steps), steps
    async with aiohttp.ClientSession() as session:
        status, content_type, body = await fetch(session, await image.get_attribute("src"))
    assert status == 200 and decode(body, content_type) == [data]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "page.png"), full_page=True)


async def test_the_same_barcode_again_says_it_was_already_stored(page: Page) -> None:
    data = f"TWICE-{uuid.uuid4().hex[:8]}"
    for _ in range(2):
        await _generate(page, data)
        await expect(page.locator("#result-image")).to_be_visible(timeout=20_000)
    # The test stack runs one generator, which remembers the key it stored: no second render.
    await expect(page.locator("#timeline li").nth(2)).to_have_text("rendered: skipped, already stored")
    await expect(page.locator("#timeline li").nth(3)).to_contain_text("stored ")
    await expect(page.locator("#result")).to_contain_text("cached")


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
    client_id = await page.evaluate("barcodePage.clientId()")
    await page.evaluate("barcodePage.dropSocket(3000)")
    await expect(page.get_by_role("status")).to_have_text("reconnecting…")
    data = f"AWAY-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway_a}/v1/jobs", json={"data": data, "client_id": client_id}) as resp:
            job_id = (await resp.json())["job_id"]
        async with session.get(f"{gateway_a}/v1/jobs/{job_id}", params={"wait": "20"}) as resp:
            assert (await resp.json())["status"] == "completed"
    await expect(page.get_by_role("status")).to_have_text("connected (resumed)", timeout=20_000)
    # The page did not submit it, so it names the job by its id.
    await expect(page.locator("#history button", has_text=job_id[:8])).to_contain_text("completed", timeout=20_000)
    jobs = await page.evaluate("barcodePage.jobs()")
    assert [j["status"] for j in jobs if j["jobId"] == job_id] == ["completed"]


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
