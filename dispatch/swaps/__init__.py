"""Shift swaps over HTTP: the routes, and the SMS each step calls for (the rules: dispatch.roster.swaps)."""
