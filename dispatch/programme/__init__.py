"""Programme domain."""
