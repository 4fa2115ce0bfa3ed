"""Request and response bodies for login and user management."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from dispatch.auth.models import Role
from dispatch.ids import ID_MAX

# Every password a person sets: at the console, through the API, or with `dispatch user create`.
NewPassword = Annotated[str, Field(min_length=12, max_length=256, description="at least 12 characters")]


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    clinic_id: int | None
    physician_id: int | None
    area_id: int | None = Field(None, description="an area coordinator's medical area (null: every area)")
    active: bool


class LoginResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    user: UserOut
    enrolment_required: bool = Field(
        False, description="this login may only enrol a second factor (/api/v1/auth/totp/enrol) until it does"
    )


class SecondFactorRequired(BaseModel):
    """The password was right; the login goes on at /api/v1/auth/login/verify with a code and this challenge."""

    second_factor_required: bool = True
    challenge: str
    expires_at: datetime


class UserCreate(BaseModel):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[a-z0-9._-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    password: NewPassword
    role: Role
    clinic_id: int | None = Field(None, ge=1, le=ID_MAX)
    physician_id: int | None = Field(None, ge=1, le=ID_MAX)
    area: str | None = Field(
        None, max_length=32, description="a coordinator's medical area by code, e.g. katori-kaiso (none: all)"
    )


class AreaAssignment(BaseModel):
    """A coordinator's medical area: they see and act on its cases only; null, every area (the centre)."""

    model_config = ConfigDict(extra="forbid")

    area: str | None = Field(max_length=32, description="the area's code, e.g. katori-kaiso; null: every area")
