"""Router: applies company routing profiles to requests (barcode.requests -> barcode.render)."""
