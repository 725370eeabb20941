"""Benchmarks that print figures and ratios (not tests)."""
