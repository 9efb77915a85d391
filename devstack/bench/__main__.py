"""`python -m devstack.bench`: the pipeline benchmark (`make bench`)."""
from devstack.bench.pipeline import main

main()
