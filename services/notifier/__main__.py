"""`python -m services.notifier`: run the notifier stage until SIGTERM/SIGINT."""
from services.notifier.app import build_stage
from services.notifier.settings import NotifierSettings
from services.kafka.stage import run

run(lambda: build_stage(NotifierSettings.from_env()))
