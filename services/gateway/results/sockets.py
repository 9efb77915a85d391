"""Sockets held by this replica, by client id, each with its own bounded outgoing queue.

The Kafka feed only puts messages on queues; a sender task per socket writes them. One slow
client therefore cannot stall the feed or the other clients. A client that stops reading is
closed (1013 try again later) when its queue fills up or when one write has waited
GATEWAY_SLOW_CLIENT_SECONDS for the connection to drain; the kernel's share is bounded by a
fixed send buffer on the socket (GATEWAY_SOCKET_SEND_BUFFER_BYTES). Its undelivered results
stay pending for its resume.
"""
from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import WSCloseCode, web

from services.contract import Notification
from services.gateway.edge.auth import Caller
from services.gateway.results.messages import final_message
from services.gateway.results.replies import Hold

log = logging.getLogger(__name__)

OnDelivered = Callable[[str, str], Awaitable[None]]
Sign = Callable[[str | None, str | None], str | None]
CLOSE_GRACE_S = 2.0  # for the close frame of a socket that is not reading; then the connection is cut


class Connection:
    def __init__(self, ws: web.WebSocketResponse, client_id: str, queue_size: int, on_delivered: OnDelivered,
                 base_url: str, sign: Sign | None = None, slow_client_s: float = 10.0,
                 transport: asyncio.BaseTransport | None = None) -> None:
        self.ws = ws
        self.transport = transport  # the connection under the socket: cut when it will not read
        # The request handler serving this socket: stopped if cutting the connection did not end it.
        self.handler: asyncio.Task[Any] | None = asyncio.current_task()
        self.client_id = client_id
        self.base_url = base_url
        self.sign: Sign = sign or (lambda bucket, key: None)
        self.slow_client_s = slow_client_s
        self.queue: asyncio.Queue[tuple[dict[str, Any], str | None]] = asyncio.Queue(queue_size)
        self.on_delivered = on_delivered
        self.sent_final: set[str] = set()  # job ids whose final message this socket got
        self.in_flight: set[str] = set()  # accepted here, no final yet (bounded per socket)
        self.watching: set[str] = set()  # jobs of another socket of ours this one waits for
        self.holds: list[Hold] = []  # other replicas' result partitions read for this socket
        self.jobs_sent = 0
        self.resumed = False
        self.auth_failures = 0
        self.caller: Caller = Caller("anonymous:?", None)
        self.sender: asyncio.Task[None] | None = None
        self.closing: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.sender = asyncio.create_task(self._send_loop(), name=f"ws-sender-{self.client_id}")

    def send_final(self, n: Notification) -> bool:
        return self.send(final_message(n, self.base_url, self.sign(n.bucket, n.key) if n.status == "completed"
                                       else None), final_job=n.job_id)

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
            self.close_slow(f"{self.queue.maxsize} messages queued")
            return False

    def close_slow(self, why: str) -> None:
        if self.closing is None:
            log.warning("client %s is not reading (%s); closing its socket", self.client_id, why)
            self.closing = asyncio.create_task(self._close_slow(), name=f"ws-close-{self.client_id}")

    async def _close_slow(self) -> None:
        if self.sender is not None and self.sender is not asyncio.current_task():
            self.sender.cancel()
        # The 1013 close frame queues behind what the client is not reading; aiohttp's close()
        # then waits on a drain that never comes (and does not give up when cancelled). So: try
        # it in its own task, and cut the connection after the grace whatever became of it.
        closing = asyncio.create_task(self.ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow"))
        await asyncio.wait({closing}, timeout=CLOSE_GRACE_S)
        if self.transport is not None:
            self.transport.abort()
        await asyncio.sleep(0.5)
        # The handler may sit in a receive or a write that the cut connection does not wake.
        for task in (closing, self.handler):
            if task is not None and not task.done():
                task.cancel()

    async def _send_loop(self) -> None:
        while True:
            message, final_job = await self.queue.get()
            if self.ws.closed:
                return
            try:
                # A write waits while the connection's buffers are full; a client that lets it
                # wait this long is not reading.
                async with asyncio.timeout(self.slow_client_s):
                    await self.ws.send_str(orjson.dumps(message).decode())
            except TimeoutError:
                self.close_slow(f"a write waited {self.slow_client_s:g} s")
                return
            except (ConnectionError, RuntimeError) as exc:
                log.info("client %s went away while sending: %s", self.client_id, exc)
                return
            if final_job is not None:
                await self.on_delivered(self.client_id, final_job)

    async def stop(self) -> None:
        for task in (self.sender, self.closing):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass


def bound_send_buffer(request: web.Request, size: int) -> None:
    """A fixed kernel send buffer (no autotuning up to megabytes): what a client that stopped
    reading can have queued in the kernel stays near `size`."""
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)


class SocketRegistry:
    def __init__(self) -> None:
        self._by_client: dict[str, set[Connection]] = {}
        # job id -> sockets that asked for it under an idempotency key another socket of the
        # same caller used first: the result is addressed to that other client id.
        self._watchers: dict[str, set[Connection]] = {}

    def add(self, conn: Connection) -> None:
        self._by_client.setdefault(conn.client_id, set()).add(conn)

    def remove(self, conn: Connection) -> None:
        conns = self._by_client.get(conn.client_id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self._by_client[conn.client_id]
        for job_id in conn.watching:
            watchers = self._watchers.get(job_id)
            if watchers is not None:
                watchers.discard(conn)
                if not watchers:
                    del self._watchers[job_id]
        conn.watching.clear()

    def watch(self, job_id: str, conn: Connection) -> None:
        self._watchers.setdefault(job_id, set()).add(conn)
        conn.watching.add(job_id)

    def recipients(self, n: Notification) -> list[Connection]:
        """The sockets a final result goes to: its client's, and any watching its job."""
        out = list(self._by_client.get(n.client_id, ())) if n.client_id else []
        for conn in self._watchers.pop(n.job_id, ()):
            conn.watching.discard(n.job_id)
            if conn not in out:
                out.append(conn)
        return out

    def for_client(self, client_id: str) -> list[Connection]:
        return list(self._by_client.get(client_id, ()))

    def all(self) -> list[Connection]:
        return [c for conns in self._by_client.values() for c in conns]

    def __len__(self) -> int:
        return sum(len(c) for c in self._by_client.values())
