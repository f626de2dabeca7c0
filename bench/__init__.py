"""Benchmarks of issuegraph and the data generator they run against."""
