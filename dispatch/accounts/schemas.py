"""Request and response bodies for changing passwords and ending sessions."""

from __future__ import annotations

from pydantic import BaseModel, Field

from dispatch.auth.schemas import NewPassword


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: NewPassword


class PasswordReset(BaseModel):
    new_password: NewPassword


class SessionsEnded(BaseModel):
    sessions_ended: int = Field(description="how many login sessions were ended")
