"""Twilio Programmable Voice: the routes a call to a physician (or the coordinator) talks to."""
