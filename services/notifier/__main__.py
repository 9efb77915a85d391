"""`python -m services.notifier`: run the notifier worker."""
from services.faust_main import run_worker
from services.notifier.app import build_app
from services.notifier.settings import NotifierSettings
from services.settings import read_config

settings = read_config(NotifierSettings.from_env)
run_worker(lambda: build_app(settings), settings.kafka)
