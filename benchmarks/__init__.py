"""Benchmarks: runnable modules that measure quality and speed and write JSON results."""
