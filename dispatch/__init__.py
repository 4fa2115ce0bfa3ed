"""Night and holiday house-call dispatch coordination service."""
