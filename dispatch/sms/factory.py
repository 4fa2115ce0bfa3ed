"""The gateway and the caller the settings ask for."""

from __future__ import annotations

from config.settings import Settings, SmsProvider
from dispatch.sms.caller import Caller
from dispatch.sms.console import ConsoleCaller, ConsoleGateway
from dispatch.sms.gateway import SmsGateway


def build_gateway(settings: Settings) -> SmsGateway:
    """Twilio in production (and against the fake Twilio in tests), the console otherwise."""
    if settings.sms_provider is SmsProvider.twilio:
        from dispatch.sms.twilio_gateway import TwilioGateway

        return TwilioGateway(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            settings.twilio_from_number,
            api_base_url=settings.twilio_api_base_url,
        )
    return ConsoleGateway()


def build_caller(settings: Settings) -> Caller:
    """Twilio Programmable Voice in production (the fake Twilio in tests), the console otherwise."""
    if settings.sms_provider is SmsProvider.twilio:
        from dispatch.sms.twilio_gateway import TwilioCaller

        return TwilioCaller(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            settings.twilio_from_number,
            api_base_url=settings.twilio_api_base_url,
        )
    return ConsoleCaller()
