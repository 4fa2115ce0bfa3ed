"""Outcomes: what happened at the visit, and the death record when a patient died at home."""
