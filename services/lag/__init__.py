"""The lag exporter: every stage group's consumer lag, served to Prometheus (services/lag/app.py)."""
