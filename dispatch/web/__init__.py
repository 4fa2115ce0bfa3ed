"""The operator console: Japanese web pages over the same API, live by server-sent events."""
