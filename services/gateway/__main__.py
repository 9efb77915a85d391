"""`python -m services.gateway`: serve the API until SIGTERM/SIGINT."""
from __future__ import annotations

import asyncio
import logging

from services.gateway.app import init_app
from services.gateway.edge.server import serve
from services.gateway.settings import GatewaySettings
from services import tracing
from services.settings import log_level, read_config
from services.kafka import eventloop

if __name__ == "__main__":
    logging.basicConfig(level=log_level(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    eventloop.install()
    settings = read_config(GatewaySettings.from_env)
    read_config(lambda: tracing.configure("gateway"))
    asyncio.run(serve(
        init_app(settings, warm_check_workers=True), settings.host, settings.port, settings.shutdown_timeout_s,
        # A connection that has not sent a whole request this long after connecting (or after
        # its last response) is closed: slow headers cannot hold a connection.
        keepalive_timeout=settings.header_timeout_s,
        max_headers=settings.max_headers, max_field_size=settings.max_header_bytes,
        max_line_size=settings.max_header_bytes))
