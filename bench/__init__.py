"""Benchmarks: REST calls, store operations and wall time, as ratios against a naive approach."""
