"""Pytest-free support for the fixtures, the benchmarks and other repos' own helpers."""
