"""Barcodes as image URLs: `GET /v1/barcode` with our parameters or bwip-js's, answered with the
file itself, made by the pipeline once and served from the store after."""
