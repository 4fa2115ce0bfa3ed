"""Triage domain: the consulting physician's queue, claims and decisions."""
