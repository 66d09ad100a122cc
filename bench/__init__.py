"""Benchmarks: speed and memory goals, each run side by side with a common peer."""
