"""The signed, short-lived link a physician gets on accepting: it names an offer, never a patient."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

LINK_TTL_S = 12 * 3600
_SALT = "visit-details-link"


class LinkInvalid(Exception):
    """The link is forged, damaged or expired."""


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT)


def make_token(secret: str, offer_id: int) -> str:
    """A token for the accepted offer's details page."""
    return _serializer(secret).dumps({"o": offer_id})


def read_token(secret: str, token: str, max_age_s: int = LINK_TTL_S) -> int:
    """The offer id behind a token; LinkInvalid if it is forged or older than `max_age_s`."""
    try:
        data = _serializer(secret).loads(token, max_age=max_age_s)
    except SignatureExpired:
        raise LinkInvalid("this link has expired; ask the centre for a new one") from None
    except BadSignature:
        raise LinkInvalid("this link is not valid") from None
    if not isinstance(data, dict) or not isinstance(data.get("o"), int):
        raise LinkInvalid("this link is not valid")
    return data["o"]


def visit_url(base_url: str, secret: str, offer_id: int) -> str:
    return f"{base_url.rstrip('/')}/visit/{make_token(secret, offer_id)}"
