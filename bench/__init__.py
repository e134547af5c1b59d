"""Benchmarks: `python bench/run.py [--quick] [--json FILE]` (see docs/benchmarks.md)."""
