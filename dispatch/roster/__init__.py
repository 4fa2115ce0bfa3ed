"""Roster domain."""
