"""Benchmarks of Casework at scale (not part of the test suite)."""
