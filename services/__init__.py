"""barcode-pipeline services: gateway, router, generator, notifier, and their shared contract."""
