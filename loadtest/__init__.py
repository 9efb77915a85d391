"""Open-loop load generator for barcode-pipeline (REST and WebSocket)."""
