"""Benchmarks: the pipeline against bwip-js and its own ceiling, settings, memory, render costs, profiles.

`python -m devstack.bench` (`make bench`) is the main run; every other module is its own make
target (docs/benchmarks.md says which, and how to reproduce each number).
"""
