"""What tests/e2e/test_page.py watches in the browser: the page's sockets and what it sends on
them, Content-Security-Policy violations, and the pixels of the barcode the page shows."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Page, WebSocket

# Runs before the page's own scripts (injected by the browser, so the page's CSP does not
# apply to it): every violation the page causes is kept, whether or not it reaches the console.
_RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation",
    (e) => window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`));
"""


@dataclass
class Sockets:
    """Every WebSocket the page opens: its URL and the JSON messages the page sent on it."""

    opened: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)

    @classmethod
    def watch(cls, page: Page) -> "Sockets":
        sockets = cls()
        page.on("websocket", sockets._on_socket)
        return sockets

    def _on_socket(self, ws: WebSocket) -> None:
        sent: list[dict[str, Any]] = []
        self.opened.append((ws.url, sent))
        ws.on("framesent", lambda payload: sent.append(json.loads(payload)))

    def first_messages(self) -> list[dict[str, Any] | None]:
        return [sent[0] if sent else None for _, sent in self.opened]


@dataclass
class Violations:
    """CSP violations, from the console ("Refused to ...") and from the page's events."""

    page: Page
    console: list[str] = field(default_factory=list)

    @classmethod
    async def watch(cls, page: Page) -> "Violations":
        violations = cls(page)
        await page.add_init_script(_RECORD_VIOLATIONS)
        page.on("console", lambda message: violations.console.append(message.text)
                if "Content Security Policy" in message.text or message.text.startswith("Refused to") else None)
        return violations

    async def all(self) -> list[str]:
        return self.console + await self.page.evaluate("window.__cspViolations")


async def shown_image(page: Page) -> bytes:
    """The PNG the page shows as the result, read back from its pixels (the page shows a blob:
    URL of the file it fetched, which nothing outside the page can open)."""
    data_url = await page.locator("#result-image").evaluate("""img => {
        const canvas = document.createElement("canvas");
        canvas.width = img.naturalWidth;
        canvas.height = img.naturalHeight;
        canvas.getContext("2d").drawImage(img, 0, 0);
        return canvas.toDataURL("image/png");
    }""")
    return base64.b64decode(data_url.split(",", 1)[1])
