"""TOTP codes (RFC 6238: 6 digits, 30-second steps, SHA-1, as every authenticator app reads them) on the
service's clock, so tests and simulations move time as they move everything else."""

from __future__ import annotations

import hmac
import io
from datetime import datetime

import pyotp
import segno

ISSUER = "往診コーディネート"
# One step either side of now: a phone's clock a little off, or a code typed as it turned over.
DRIFT_STEPS = 1


def new_secret() -> str:
    """A fresh shared secret: 160 random bits in base32, as RFC 4226 recommends."""
    return pyotp.random_base32()


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code `code` is (now, or one step either side), or None: a forged code."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The URI as a QR code: a standalone SVG document, dark on light with its quiet zone."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out, kind="svg", xmldecl=False, scale=5, dark="#000", light="#fff", title="QR"
    )
    return out.getvalue().decode()
