"""Japanese phone numbers in, E.164 out."""

from __future__ import annotations

import phonenumbers


class InvalidPhoneNumber(ValueError):
    """The text is not a phone number that can be dialled."""


def to_e164(text: str, region: str = "JP") -> str:
    """Normalise '090-1234-5678', '０９０…' or '+81 90…' to '+819012345678'."""
    cleaned = text.strip()
    if not cleaned:
        raise InvalidPhoneNumber("is empty")
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"{text!r} is not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(f"{text!r} is not a valid phone number in {region}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def masked(e164: str) -> str:
    """A form safe for logs: the last four digits only."""
    return "…" + e164[-4:] if len(e164) > 4 else "…"


def national(e164: str) -> str:
    """'+819012345678' as people here write it: '090-1234-5678' (a number that does not parse, as given)."""
    try:
        number = phonenumbers.parse(e164, "JP")
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


MOBILE_PREFIXES = ("+8170", "+8180", "+8190")


def is_mobile(e164: str) -> bool:
    """A Japanese mobile number (070, 080, 090), one that can take an SMS."""
    return e164.startswith(MOBILE_PREFIXES)
