"""Generator: renders resolved jobs from barcode.render, stores them in S3, reports results."""
