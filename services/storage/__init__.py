"""Object storage shared by the services that talk to S3: the gateway and the notifier (signed
GET URLs) and the generator (signed PUTs). `sigv4` signs the hot-path requests without boto3."""
