"""RQ job entry points: thin functions that open a session, call a dispatch service, commit."""
