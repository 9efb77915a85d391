"""The WebSocket frame fuzzer shared by tests/e2e/test_fuzz.py (short) and `make fuzz` (long).

A raw RFC 6455 client (asyncio streams, no library in between) so frames a polite client
library refuses to write can be sent too: invalid UTF-8 in a text frame, fragments, reserved
opcodes and bits. One exchange = a handshake, a list of generated frames, each of which must be
answered, then a `ping` message that must still get its `pong`. What counts as a finding:
an error code or close code the docs do not list, a socket dropped without a close frame,
a frame left unanswered, an answer of a type the protocol does not have, a 5xx at the handshake.
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import struct
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from hypothesis import strategies as st

from devstack import paths
from services.contract import FORMATS
from services.render.symbologies import OPTIONS
from tests.support.keys import KEY_A, KEY_B

API_MD = (paths.ROOT / "docs" / "api.md").read_text()
DOCUMENTED = set(re.findall(r"^\| `([a-z_]+)` \|", API_MD, re.M))
# Close codes docs/api.md names (1000 idle, 1001 shutdown, 1008 policy, 1009 too big, 1013 slow...).
DOCUMENTED_CLOSE = {int(c) for c in re.findall(r"\b(10[01]\d)\b", API_MD)}
# What RFC 6455 makes a server answer to broken framing (1002 protocol error, 1007 invalid
# UTF-8, 1009 too big): accepted for the raw-protocol frames only, whatever the docs say.
RFC_CLOSE = {1002, 1007, 1009}
REPLIES = {"accepted", "error", "pong", "authenticated", "hello"}  # answers to one message
RESULTS = {"completed", "failed", "progress"}  # pushed about earlier jobs, may come in between
MAX_MESSAGE, MAX_FRAME = 64 * 1024, 1024 * 1024  # GATEWAY_MAX_MESSAGE_BYTES, GATEWAY_MAX_FRAME_BYTES
TEXT, BINARY, CLOSE, PING, PONG, CONT = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0
TIMEOUT = 20.0


class Dropped(Exception):
    """The connection ended without a close frame."""


@dataclass
class Frame:
    """One thing a client sends: `kind` says what a correct server does with it."""
    kind: str  # "message" (JSON reply), "ping" (pong frame), "protocol" (RFC close, or a reply)
    frames: list[tuple[int, bytes, bool, int]]  # (opcode, payload, fin, rsv bits)
    label: str

    def __repr__(self) -> str:
        return f"Frame({self.kind}, {self.label[:160]!r}, {len(self.frames)} frame(s))"


def _mask(payload: bytes, key: bytes) -> bytes:
    # XOR as one big integer: a 1 MiB payload in milliseconds, not a Python loop.
    if not payload:
        return payload
    repeated = (key * (len(payload) // 4 + 1))[:len(payload)]
    n = int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
    return n.to_bytes(len(payload), "big")


def encode(opcode: int, payload: bytes, fin: bool = True, rsv: int = 0) -> bytes:
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    key = os.urandom(4)
    return head + key + _mask(payload, key)


class RawSocket:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.close_code: int | None = None

    @classmethod
    async def connect(cls, url: str, headers: dict[str, str], query: str = "") -> tuple[int, Any, RawSocket | None]:
        """(101, None, socket) or (status, JSON body, None) for a refused handshake."""
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        lines = [f"GET /v1/ws{query} HTTP/1.1", f"Host: {parts.netloc}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
                 "Sec-WebSocket-Version: 13", *(f"{k}: {v}" for k, v in headers.items())]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape"))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        status = int(head.split(b" ", 2)[1])
        if status == 101:
            return status, None, cls(reader, writer)
        length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        body = await asyncio.wait_for(reader.readexactly(int(length.group(1))), TIMEOUT) if length else b""
        writer.close()
        try:
            return status, json.loads(body), None
        except ValueError:
            return status, body[:200], None

    async def send(self, frame: Frame) -> None:
        for opcode, payload, fin, rsv in frame.frames:
            self.writer.write(encode(opcode, payload, fin, rsv))
        await self.writer.drain()

    async def _frame(self) -> tuple[int, bytes]:
        try:
            b0, b1 = await self.reader.readexactly(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", await self.reader.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", await self.reader.readexactly(8))[0]
            return b0 & 0x0F, await self.reader.readexactly(n)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise Dropped(str(exc)) from None

    async def receive(self, timeout: float = TIMEOUT) -> tuple[str, Any]:
        """("json", message) | ("pong", payload) | ("close", code); answers the server's pings."""
        async with asyncio.timeout(timeout):
            while True:
                opcode, payload = await self._frame()
                if opcode == PING:
                    self.writer.write(encode(PONG, payload))
                elif opcode == PONG:
                    return "pong", payload
                elif opcode == TEXT:
                    try:
                        return "json", json.loads(payload)
                    except ValueError:
                        return "other", (opcode, payload[:100])
                elif opcode == CLOSE:
                    self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    self.writer.write(encode(CLOSE, payload[:2]))
                    return "close", self.close_code
                else:
                    return "other", (opcode, payload[:100])

    async def close(self) -> None:
        try:
            if self.close_code is None and not self.writer.is_closing():
                self.writer.write(encode(CLOSE, struct.pack("!H", 1000)))
                await self.writer.drain()
                while (await self.receive(5))[0] != "close":
                    pass
        except (Dropped, TimeoutError, ConnectionError):
            pass  # we are leaving anyway; what the server answered was checked before
        finally:
            self.writer.close()


# ---- what to send ----

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                    max_leaves=20)
OPTION_VALUES = st.one_of(JSON, st.integers(-10, 3000), st.floats(-1, 60), st.sampled_from(["#000000", "#ffffff\n", "H"]))
GENERATE = st.fixed_dictionaries({"type": st.just("generate")}, optional={
    "data": st.one_of(st.text(min_size=1, max_size=60), st.text(max_size=300), JSON,
                      st.dictionaries(st.sampled_from(["01", "17", "10", "x", "0"]), st.text(max_size=20), max_size=3)
                      .map(lambda d: {"gs1": d})),
    "symbology": st.one_of(st.sampled_from(["qrcode", "code128", "ean13", "datamatrix", "QRCODE", "nope"]), JSON),
    "format": st.one_of(st.sampled_from([*FORMATS, "PNG", "gif"]), JSON),
    "options": st.one_of(st.dictionaries(st.sampled_from(sorted(OPTIONS) + ["bogus"]), OPTION_VALUES, max_size=4), JSON),
    "company": st.one_of(st.sampled_from(["Default", "CompanyA", "CompanyB", "Nope"]), JSON),
    "request_id": st.one_of(st.text(max_size=140), JSON), "idempotency_key": st.one_of(st.text(max_size=140), JSON),
    "progress": JSON, "client_id": JSON})
CONTROL = st.one_of(
    st.fixed_dictionaries({"type": st.just("ping")}, optional={"request_id": JSON}),
    st.fixed_dictionaries({"type": st.just("auth")}, optional={
        "api_key": st.one_of(st.sampled_from([KEY_A, KEY_B, ""]), st.text(max_size=80), JSON)}),
    st.fixed_dictionaries({"type": st.just("resume")}, optional={
        "client_id": st.one_of(st.text(max_size=70), JSON), "resume_token": st.one_of(st.text(max_size=200), JSON),
        "last_seq": st.one_of(st.integers(), JSON)}),
    st.fixed_dictionaries({"type": JSON}))


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def _message(text: str, label: str | None = None) -> Frame:
    return Frame("message", [(TEXT, text.encode("utf-8", "surrogatepass"), True, 0)], label or text)


def _fragments(text: str, parts: int) -> Frame:
    raw = text.encode("utf-8", "surrogatepass")
    step = max(1, len(raw) // parts)
    chunks = [raw[i:i + step] for i in range(0, len(raw), step)] or [b""]
    frames = [(TEXT if i == 0 else CONT, chunk, i == len(chunks) - 1, 0) for i, chunk in enumerate(chunks)]
    return Frame("message", frames, f"{len(chunks)} fragments of {text}")


PROTOCOL = st.one_of(
    st.binary(min_size=1, max_size=40).map(lambda b: b"\xff" + b).map(
        lambda b: Frame("protocol", [(TEXT, b, True, 0)], f"text frame, invalid UTF-8 {b!r}")),
    st.tuples(st.sampled_from([3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF]), st.binary(max_size=20)).map(
        lambda t: Frame("protocol", [(t[0], t[1], True, 0)], f"reserved opcode {t[0]:#x}")),
    st.tuples(st.integers(1, 7), st.text(max_size=20)).map(
        lambda t: Frame("protocol", [(TEXT, t[1].encode(), True, t[0])], f"RSV bits {t[0]:03b} set")),
    st.binary(max_size=20).map(lambda b: Frame("protocol", [(CONT, b, True, 0)], "continuation with no message")),
    st.binary(min_size=126, max_size=300).map(lambda b: Frame("protocol", [(PING, b, True, 0)], "ping of >125 bytes")),
    st.just(Frame("protocol", [(PING, b"x", False, 0)], "fragmented ping")),
    st.just(Frame("protocol", [(TEXT, b"{", False, 0), (TEXT, b"}", True, 0)], "new message inside a fragmented one")),
)
MESSAGES = st.one_of(
    JSON.map(lambda v: _message(json.dumps(v))),
    GENERATE.map(lambda v: _message(json.dumps(v))),
    CONTROL.map(lambda v: _message(json.dumps(v))),
    st.text(max_size=200).map(_message),
    st.integers(1, 400).map(lambda d: _message(json.dumps({"type": "generate", "data": "A", "options": _nested(d)}),
                                               f"options nested {d} deep")),
    st.integers(1, 30).map(lambda depth: _message("[" * depth * 40 + "]" * depth * 40, f"array nested {depth * 40}")),
    st.integers(MAX_MESSAGE - 100, MAX_MESSAGE + 6000).map(
        lambda n: _message(json.dumps({"type": "generate", "data": "A" * n}), f"generate of {n} bytes")),
    st.tuples(GENERATE | CONTROL, st.integers(2, 6)).map(lambda t: _fragments(json.dumps(t[0]), t[1])),
    st.binary(max_size=100).map(lambda b: Frame("message", [(BINARY, b, True, 0)], f"binary {b[:40]!r}")),
)
FRAMES = st.one_of(
    MESSAGES, MESSAGES, MESSAGES, PROTOCOL,  # mostly messages: they reach the gateway's own code
    st.binary(max_size=125).map(lambda b: Frame("ping", [(PING, b, True, 0)], f"ping frame {b[:20]!r}")),
    st.integers(MAX_FRAME + 1, MAX_FRAME + 4096).map(
        lambda n: Frame("message", [(TEXT, b" " * n, True, 0)], f"text frame of {n} bytes")),
)
HANDSHAKE = st.one_of(
    st.just(({}, "")), st.just(({}, "")),
    st.sampled_from([KEY_A, KEY_B, "wrong-key"]).map(lambda k: ({"X-API-Key": k}, "")),
    st.tuples(st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=70),
              st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=120)).map(
        lambda t: ({"X-Client-Id": t[0], "X-Resume-Token": t[1]}, "")),
    st.tuples(st.from_regex(r"[a-z0-9]{0,20}", fullmatch=True), st.from_regex(r"[0-9a-z.]{0,60}", fullmatch=True)).map(
        lambda t: ({}, f"?client_id={t[0]}&resume_token={t[1]}&last_seq=1")),
    st.sampled_from(["https://evil.example", "null"]).map(lambda o: ({"Origin": o}, "")),
)


# ---- what a correct server answers ----

@dataclass
class Tally:
    exchanges: int = 0
    frames: int = 0
    findings: dict[str, str] = field(default_factory=dict)  # kind -> shortest reproducer seen
    endings: Counter[str] = field(default_factory=Counter)  # how sockets ended: "ping answered", "close 1009"...

    def find(self, kind: str, reproducer: str) -> None:
        if kind not in self.findings or len(reproducer) < len(self.findings[kind]):
            self.findings[kind] = reproducer


def _check_error(message: dict[str, Any]) -> str | None:
    if message.get("type") == "error":
        code = (message.get("error") or {}).get("code")
        if code not in DOCUMENTED:
            return f"undocumented error code {code!r}"
    elif message.get("type") not in REPLIES | RESULTS:
        return f"unknown message type {message.get('type')!r}"
    return None


async def _answer(sock: RawSocket, frame: Frame) -> str | None:
    """None when `frame` got a correct answer (the socket may be closed by it); else the finding."""
    while True:
        try:
            kind, value = await sock.receive()
        except TimeoutError:
            return "frame left unanswered"
        except Dropped:
            return "socket dropped without a close frame"
        if kind == "close":
            allowed = DOCUMENTED_CLOSE | (RFC_CLOSE if frame.kind == "protocol" else set())
            if frame.label.startswith("text frame of"):
                allowed = allowed | {1009}
            return None if value in allowed else f"close code {value} (not documented)"
        if kind == "pong":
            if frame.kind == "ping":
                return None
            continue  # an answer to a ping of ours that came late
        if kind == "other":
            return f"unexpected frame {value!r}"
        problem = _check_error(value)
        if problem:
            return problem
        if value["type"] in RESULTS:
            continue
        if frame.kind in ("message", "protocol"):
            return None
        # a JSON reply to a bare ping frame: not what was asked, but keep reading for the pong


async def exchange(url: str, handshake: tuple[dict[str, str], str], frames: list[Frame], tally: Tally) -> list[str]:
    """Run one exchange; the findings it produced (also recorded in `tally`)."""
    headers, query = handshake
    tally.exchanges += 1
    found: list[str] = []

    def note(kind: str, at: int) -> None:
        found.append(kind)
        tally.find(kind, f"handshake {headers or ''}{query}; frames {frames[:at + 1]!r}")

    status, body, sock = await RawSocket.connect(url, headers, query)
    if sock is None:
        code = body.get("error", {}).get("code") if isinstance(body, dict) else None
        tally.endings[f"handshake {status} {code}"] += 1
        if status >= 500 or code not in DOCUMENTED:
            note(f"handshake answered {status} {code or body!r}", -1)
        return found
    try:
        first = await _answer(sock, Frame("message", [], "hello"))
        if first is not None:
            note(f"{first} at the handshake", -1)
        for at, frame in enumerate(frames):
            if sock.close_code is not None:
                break
            tally.frames += 1
            await sock.send(frame)
            problem = await _answer(sock, frame)
            if problem is not None:
                note(problem, at)
                return found
        if sock.close_code is None:
            await sock.send(_message(json.dumps({"type": "ping", "request_id": "still-there"})))
            while True:
                kind, value = await sock.receive()
                if kind == "json" and value.get("type") == "pong":
                    break
                if kind == "close" and value in DOCUMENTED_CLOSE:
                    break  # closed on purpose by an earlier frame (a refused resume, say), with a code that says so
                if kind != "json" or (value.get("type") not in RESULTS | {"accepted", "error"}):
                    note(f"no pong after the frames, got {kind} {value!r}"[:200], len(frames) - 1)
                    break
    except (TimeoutError, Dropped, ConnectionError) as exc:
        note(f"no pong after the frames ({type(exc).__name__})", len(frames) - 1)
    finally:
        tally.endings["finding" if found else f"close {sock.close_code}" if sock.close_code else "ping answered"] += 1
        await sock.close()
    return found
