"""Opening a login over HTTP, for the password step and the second-factor step alike: the session, its cookie,
the answer."""

from __future__ import annotations

from fastapi import Request, Response
from sqlalchemy.orm import Session

from dispatch.auth import service
from dispatch.auth.guard import SESSION_COOKIE
from dispatch.auth.models import User
from dispatch.auth.schemas import LoginResponse, UserOut
from dispatch.deps import get_services

# A browser that gave its second factor and asked to be remembered; sent only to the login routes.
DEVICE_COOKIE = "dispatch_device"
DEVICE_COOKIE_PATH = "/api/v1/auth/login"


def begin_session(
    session: Session, request: Request, response: Response, user: User, *, enrolment_only: bool = False
) -> LoginResponse:
    """Open a login session for `user`, commit it, and hand its token back (also as an HttpOnly cookie)."""
    services = get_services(request)
    ttl_s = services.settings.session_ttl_s
    token, row = service.open_session(session, services.clock, user, ttl_s, enrolment_only=enrolment_only)
    session.commit()
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=ttl_s,
        httponly=True,
        samesite="strict",
        secure=services.settings.is_production,
    )
    return LoginResponse(
        access_token=token,
        expires_at=row.expires_at,
        user=UserOut.model_validate(user),
        enrolment_required=enrolment_only,
    )
