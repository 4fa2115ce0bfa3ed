"""Live updates: case events streamed to consoles, fed through Redis."""
