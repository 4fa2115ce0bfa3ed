"""SMS: the gateway interface, its Twilio and console adapters, the reply protocol, webhooks."""
