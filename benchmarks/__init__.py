"""Benchmarks of the kit: run ``make bench`` (or ``python -m benchmarks``); figures go in the README."""
