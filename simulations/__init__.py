"""Discrete-event models of nights and years, replays through the real stack, and benchmarks.

Nothing here yet: the verbs `model`, `replay` and `bench` arrive with their own issue.
"""
