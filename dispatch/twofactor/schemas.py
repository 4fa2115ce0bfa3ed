"""Request and response bodies for the second factor."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, model_validator


def _six_digits(value: str) -> str:
    code = "".join(value.split())  # "123 456", as some apps show it
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        raise ValueError("enter the 6 digits the authenticator app shows")
    return code


Code = Annotated[str, Field(min_length=6, max_length=12), AfterValidator(_six_digits)]
RecoveryCodeText = Annotated[str, Field(min_length=10, max_length=40, description="e.g. 3f9a1-c27e0")]


class CodeIn(BaseModel):
    code: Code


class LoginVerify(BaseModel):
    """The login's second step: the challenge from /api/v1/auth/login and either a code or a recovery code."""

    challenge: str = Field(min_length=1, max_length=500)
    code: Code | None = None
    recovery_code: RecoveryCodeText | None = None
    remember_device: bool = Field(False, description="skip the code in this browser for one shift")

    @model_validator(mode="after")
    def _one_proof(self) -> LoginVerify:
        if (self.code is None) == (self.recovery_code is None):
            raise ValueError("give either code (6 digits) or recovery_code, not both or neither")
        return self


class DisableIn(BaseModel):
    """A current code, or the password, to turn the second factor off."""

    code: Code | None = None
    password: str | None = Field(None, min_length=1, max_length=256)

    @model_validator(mode="after")
    def _one_proof(self) -> DisableIn:
        if self.code is None and self.password is None:
            raise ValueError("give code (6 digits) or password")
        return self


class EnrolmentOut(BaseModel):
    """Shown once: scan the QR code (or type the secret) into an authenticator app, then confirm a code."""

    secret: str
    otpauth_uri: str
    qr_svg: str = Field(description="the otpauth URI as a QR code, a standalone SVG document")


class RecoveryCodesOut(BaseModel):
    """Shown once: each code logs in once without the phone. Print them or keep them somewhere safe."""

    recovery_codes: list[str]


class TwoFactorStatus(BaseModel):
    """A user's second factor as they may see it: never the secret."""

    enrolled: bool
    pending: bool
    confirmed_at: datetime | None
    recovery_codes_left: int
    remembered_devices: int
    required: bool
