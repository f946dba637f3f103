"""Benchmarks of sanquan (``python -m bench.run_all``; see docs/performance.md)."""
