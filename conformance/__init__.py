"""Timelog conformance suite: one set of tests every backend must pass."""
