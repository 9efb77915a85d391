"""Batches: the REST and WebSocket submission of a batch, reading its rows (JSON or CSV), and what this replica knows of each batch's status."""
