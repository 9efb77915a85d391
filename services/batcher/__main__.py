"""`python -m services.batcher`: run the batcher until SIGTERM/SIGINT."""
from services.batcher.app import run

run()
