"""Models of nights and years, replays through the real stack, and benchmarks (`python -m simulations`).

Here now: the fake Twilio (`fake_twilio`), a direct loader of a year's table (`bulk`) and the report
benchmark (`bench-reports`). The model, replay and end-to-end benchmark verbs arrive with their own issue.
"""
