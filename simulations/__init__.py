"""Replays through the real stack, benchmarks, and the pieces they share (`python -m simulations`).

`replay` drives a fiscal year from a table through the API, workers, Redis, the database and the fake
Twilio; `bench` measures the stack end to end; `bench-reports` times the reports over a million cases.
The discrete-event model (`model`, `roster`) is still to come.
"""
