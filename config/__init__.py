"""Settings and the programme's reference data."""
