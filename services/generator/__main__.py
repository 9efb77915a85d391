"""`python -m services.generator`: run the generator stage until SIGTERM/SIGINT."""
from services.generator.app import build_stage
from services.generator.settings import GeneratorSettings
from services.kafka.stage import run

run(lambda: build_stage(GeneratorSettings.from_env()))
