"""The family told: arrival-time SMS to the callback number, and the operator's task to call them back."""
