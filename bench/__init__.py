"""Benchmark scripts that print figures; they time things, they never assert on time."""
