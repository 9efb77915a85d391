"""`python -m services.lag`: serve the stage groups' consumer lag on /metrics until SIGTERM/SIGINT."""
from services.lag.app import run

run()
