"""Benchmarks: figures are printed, never asserted (README "Benchmarks")."""
