"""Offers: a visit offered to a substitute physician by SMS, with its deadline and escalation."""
