"""Object storage shared by the services that talk to S3: the gateway (signed GET URLs), the
generator (signed PUTs, the bucket) and the batcher (fetches, multipart uploads).
`sigv4` signs the hot-path requests without boto3; `client` builds the one boto3 client shape."""
