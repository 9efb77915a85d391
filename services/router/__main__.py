"""`python -m services.router`: run the router stage until SIGTERM/SIGINT."""
from services.router.app import build_stage
from services.router.settings import RouterSettings
from services.kafka.stage import run

run(lambda: build_stage(RouterSettings.from_env()))
