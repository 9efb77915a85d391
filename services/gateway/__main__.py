"""`python -m services.gateway`: serve the API until SIGTERM/SIGINT."""
from __future__ import annotations

import logging

from aiohttp import web

from services import eventloop
from services.gateway.app import init_app
from services.gateway.settings import GatewaySettings
from services.settings import log_level

if __name__ == "__main__":
    logging.basicConfig(level=log_level(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    eventloop.install()
    settings = GatewaySettings.from_env()
    web.run_app(init_app(settings), host=settings.host, port=settings.port,
                shutdown_timeout=settings.shutdown_timeout_s, access_log=None,
                print=lambda _: logging.getLogger("services.gateway").info(
                    "gateway listening on http://%s:%d", settings.host, settings.port))
