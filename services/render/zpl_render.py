"""The independent renderer a ZPL result is checked with: zebrash (a Go ZPL renderer, compiled to
WebAssembly, npm `zpl-renderer-js`), run as one long-lived Node process (scripts/zpl/render.cjs):
loading it takes ~0.2 s, a label then ~10-50 ms. It draws the label from the ZPL bytes
themselves, so decoding its picture checks what a printer would print, not our bitmap."""
from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import threading
from pathlib import Path

from PIL import Image

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "zpl" / "render.cjs"


class ZplRendererUnavailable(RuntimeError):
    """No Node or no zpl-renderer-js here: a ZPL result cannot be checked (and must say so)."""


class ZplRenderer:
    def __init__(self, modules: Path) -> None:
        if not (modules / "zpl-renderer-js").is_dir():
            raise ZplRendererUnavailable(f"zpl-renderer-js is not installed under {modules}")
        try:
            self._proc = subprocess.Popen(["node", str(SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          env={**os.environ, "NODE_PATH": str(modules)}, text=True, bufsize=1)
        except FileNotFoundError as exc:
            raise ZplRendererUnavailable("node is not installed") from exc
        assert self._proc.stdout is not None and self._proc.stdin is not None
        if json.loads(self._proc.stdout.readline() or "{}").get("ready") is not True:
            raise ZplRendererUnavailable("the ZPL renderer did not start")
        self._lock = threading.Lock()  # one label at a time over the one pipe
        self._next = 0

    def render(self, zpl: bytes, width_dots: int, height_dots: int, dpmm: int) -> Image.Image:
        """The label as the renderer draws it, one pixel per printer dot."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        with self._lock:
            self._next += 1
            ask = {"id": self._next, "zpl": zpl.decode("ascii"), "width_mm": width_dots / dpmm,
                   "height_mm": height_dots / dpmm, "dpmm": dpmm}
            self._proc.stdin.write(json.dumps(ask) + "\n")
            answer = json.loads(self._proc.stdout.readline() or "{}")
        if "png" not in answer:
            raise ValueError(f"the ZPL renderer refused the label: {answer.get('error', 'no answer')}")
        return Image.open(io.BytesIO(base64.b64decode(answer["png"])))

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=10)
