"""`python -m services.router`: run the router worker."""
from services.faust_main import run_worker
from services.router.app import build_app
from services.router.settings import RouterSettings
from services.settings import read_config

settings = read_config(RouterSettings.from_env)
run_worker(lambda: build_app(settings), settings.kafka)
