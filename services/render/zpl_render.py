"""The independent renderer a ZPL result is checked with: zebrash (a Go ZPL renderer, compiled to
WebAssembly, npm `zpl-renderer-js`, pinned in scripts/zpl/package-lock.json), run as long-lived
Node processes (`zpl_render.cjs` beside this file). Loading one takes ~0.2 s; a label then takes
~10-20 ms at 8-12 dots per mm. It draws the label from the ZPL bytes themselves, so decoding its
picture checks what a printer would print, not our bitmap.

Where the packages are: `ZPL_RENDERER_MODULES` (a node_modules folder; the service image sets
it, `make run` and the tests install into `.local/zpl`). Without Node or the packages a ZPL
result cannot be checked, and says so (`Rendered.unverified`), never silently.
"""
from __future__ import annotations

import atexit
import base64
import io
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

from PIL import Image

SCRIPT = Path(__file__).resolve().with_name("zpl_render.cjs")
MODULES_ENV = "ZPL_RENDERER_MODULES"
PROCESSES_ENV = "ZPL_RENDERERS"  # how many Node processes draw labels at once (default 1)
_START_TIMEOUT_S = 30.0
_LABEL_TIMEOUT_S = 10.0


class ZplRendererUnavailable(RuntimeError):
    """No Node or no zpl-renderer-js here: a ZPL result cannot be checked (and must say so)."""


class ZplRenderError(RuntimeError):
    """The renderer refused or could not draw a label (it was restarted for the next one)."""


def _read_line(proc: subprocess.Popen[str], timeout_s: float) -> str:
    """One line of the renderer's output, or "" when it does not answer in time (it is killed)."""
    assert proc.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: lines.put(proc.stdout.readline() if proc.stdout else ""), daemon=True)
    reader.start()
    try:
        return lines.get(timeout=timeout_s)
    except queue.Empty:
        proc.kill()
        return ""


class _Process:
    """One Node process drawing one label at a time over its pipes."""

    def __init__(self, modules: Path) -> None:
        node = shutil.which("node")
        if node is None:
            raise ZplRendererUnavailable("node is not installed")
        self.proc = subprocess.Popen([node, str(SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env={**os.environ, "NODE_PATH": str(modules)},
                                     text=True, bufsize=1)
        if json.loads(_read_line(self.proc, _START_TIMEOUT_S) or "{}").get("ready") is not True:
            self.close()
            raise ZplRendererUnavailable("the ZPL renderer did not start")
        self._next = 0

    def draw(self, zpl: bytes, width_dots: int, height_dots: int, dpmm: int) -> Image.Image:
        assert self.proc.stdin is not None
        self._next += 1
        ask = {"id": self._next, "zpl": zpl.decode("latin-1"), "width_mm": width_dots / dpmm,
               "height_mm": height_dots / dpmm, "dpmm": dpmm}
        try:
            self.proc.stdin.write(json.dumps(ask) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise ZplRenderError(f"the ZPL renderer is gone: {exc}") from None
        answer = json.loads(_read_line(self.proc, _LABEL_TIMEOUT_S) or "{}")
        if answer.get("id") != self._next or "png" not in answer:
            raise ZplRenderError(f"the ZPL renderer did not draw the label: {answer.get('error', 'no answer')}")
        image = Image.open(io.BytesIO(base64.b64decode(answer["png"])))
        image.load()
        return image

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class ZplRenderer:
    """A small pool of renderer processes; a process that failed a label is replaced."""

    def __init__(self, modules: Path, processes: int = 1) -> None:
        if not (modules / "zpl-renderer-js").is_dir():
            raise ZplRendererUnavailable(f"zpl-renderer-js is not installed under {modules}")
        self.modules = modules
        self._idle: queue.Queue[_Process] = queue.Queue()
        for _ in range(max(1, processes)):
            self._idle.put(_Process(modules))

    def render(self, zpl: bytes, width_dots: int, height_dots: int, dpmm: int) -> Image.Image:
        """The label as the renderer draws it, one pixel per printer dot."""
        process = self._idle.get()
        try:
            return process.draw(zpl, width_dots, height_dots, dpmm)
        except ZplRenderError:
            process.close()
            process = _Process(self.modules)
            raise
        finally:
            self._idle.put(process)

    def close(self) -> None:
        while not self._idle.empty():
            self._idle.get_nowait().close()


_shared: ZplRenderer | None = None
_shared_lock = threading.Lock()
# A renderer that failed to start is not tried again for this long: a start can take up to
# _START_TIMEOUT_S, which every ZPL job would otherwise wait through.
_RETRY_AFTER_S = 60.0
_failed: tuple[float, str] | None = None  # (when, why)


def modules_dir() -> Path | None:
    value = os.environ.get(MODULES_ENV)
    return Path(value) if value else None


def shared() -> ZplRenderer:
    """The process's renderer, started on first use (raises ZplRendererUnavailable, again on every
    call, until Node and the packages are there)."""
    global _shared, _failed
    with _shared_lock:
        if _shared is None:
            modules = modules_dir()
            if modules is None:
                raise ZplRendererUnavailable(f"{MODULES_ENV} is not set: no ZPL renderer to check labels with")
            if _failed is not None and time.monotonic() - _failed[0] < _RETRY_AFTER_S:
                raise ZplRendererUnavailable(_failed[1])
            try:
                _shared = ZplRenderer(modules, int(os.environ.get(PROCESSES_ENV, "1")))
            except ZplRendererUnavailable as exc:
                _failed = (time.monotonic(), str(exc))
                raise
            atexit.register(_shared.close)  # its Node processes end with this one
        return _shared
