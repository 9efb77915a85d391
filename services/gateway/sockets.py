"""Sockets held by this replica, by client id, each with its own bounded outgoing queue.

The Kafka feed only puts messages on queues; a sender task per socket writes them. One slow
client therefore cannot stall the feed or the other clients. A socket whose queue fills up is
closed (1013 try again later); its undelivered results stay pending for its resume.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import WSCloseCode, web

from services.gateway.auth import Caller

log = logging.getLogger(__name__)

OnDelivered = Callable[[str, str], Awaitable[None]]


class Connection:
    def __init__(self, ws: web.WebSocketResponse, client_id: str, queue_size: int, on_delivered: OnDelivered,
                 base_url: str) -> None:
        self.ws = ws
        self.client_id = client_id
        self.base_url = base_url
        self.queue: asyncio.Queue[tuple[dict[str, Any], str | None]] = asyncio.Queue(queue_size)
        self.on_delivered = on_delivered
        self.sent_final: set[str] = set()  # job ids whose final message this socket got
        self.in_flight: set[str] = set()  # accepted here, no final yet (bounded per socket)
        self.jobs_sent = 0
        self.caller: Caller = Caller("anonymous:?", None)
        self.sender: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.sender = asyncio.create_task(self._send_loop(), name=f"ws-sender-{self.client_id}")

    def send(self, message: dict[str, Any], final_job: str | None = None) -> bool:
        """Queue a message; `final_job` marks a final result (deduplicated, receipted)."""
        if final_job is not None:
            if final_job in self.sent_final:
                return True
            self.sent_final.add(final_job)
            self.in_flight.discard(final_job)
        try:
            self.queue.put_nowait((message, final_job))
            return True
        except asyncio.QueueFull:
            log.warning("client %s is not reading; closing its socket", self.client_id)
            asyncio.create_task(self.ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow"))
            return False

    async def _send_loop(self) -> None:
        while True:
            message, final_job = await self.queue.get()
            if self.ws.closed:
                return
            try:
                await self.ws.send_str(orjson.dumps(message).decode())
            except (ConnectionResetError, RuntimeError) as exc:
                log.info("client %s went away while sending: %s", self.client_id, exc)
                return
            if final_job is not None:
                await self.on_delivered(self.client_id, final_job)

    async def stop(self) -> None:
        if self.sender is not None:
            self.sender.cancel()
            try:
                await self.sender
            except asyncio.CancelledError:
                pass


class SocketRegistry:
    def __init__(self) -> None:
        self._by_client: dict[str, set[Connection]] = {}

    def add(self, conn: Connection) -> None:
        self._by_client.setdefault(conn.client_id, set()).add(conn)

    def remove(self, conn: Connection) -> None:
        conns = self._by_client.get(conn.client_id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self._by_client[conn.client_id]

    def for_client(self, client_id: str) -> list[Connection]:
        return list(self._by_client.get(client_id, ()))

    def all(self) -> list[Connection]:
        return [c for conns in self._by_client.values() for c in conns]

    def __len__(self) -> int:
        return sum(len(c) for c in self._by_client.values())
