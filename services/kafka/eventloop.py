"""Which asyncio event loop the services run on: uvloop (libuv) unless told otherwise.

Every service spends most of its CPU in the event loop's machinery (socket writes, callbacks,
futures) around small Kafka, HTTP and WebSocket messages; uvloop does that work in C.
`BARCODE_EVENT_LOOP=asyncio` falls back to the standard loop (docs/benchmarks.md has both).
"""
from __future__ import annotations

import asyncio

from services.settings import Env

CHOICES = ("uvloop", "asyncio")


def install(env: Env | None = None) -> str:
    """Set the loop policy for this process (and any thread that makes a new loop). Returns
    the loop in use."""
    choice = (env or Env()).choice("BARCODE_EVENT_LOOP", "uvloop", CHOICES)
    if choice == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return choice
