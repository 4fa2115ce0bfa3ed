"""Loading the reference programme and the demo data."""
