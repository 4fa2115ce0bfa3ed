"""Matching: who should go, by estimated travel time and rest; batch assignment in a surge."""
