"""Models, replays through the real stack, benchmarks, and the pieces they share (`python -m simulations`).

`model` and `roster` run the discrete-event model of a year; `replay` drives a fiscal year from a table
through the API, workers, Redis, the database and the fake Twilio; `bench` measures the stack end to end;
`bench-reports` times the reports over a million cases.
"""
