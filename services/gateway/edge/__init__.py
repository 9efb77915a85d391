"""The HTTP edge: what every request passes (host, origin, keys, limits, client address), reading bodies, the REST routes, errors, the OpenAPI document, the page and file downloads."""
