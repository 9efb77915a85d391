"""Gateway: the REST and WebSocket API; publishes requests, holds sockets, pushes results."""
