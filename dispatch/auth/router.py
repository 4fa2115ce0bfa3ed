"""Login, logout, the current user, and user management."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.auth import service
from dispatch.auth.guard import SESSION_COOKIE, allow, bearer_token, current_user, enrolling, public
from dispatch.auth.login import DEVICE_COOKIE, begin_session
from dispatch.auth.models import Role, User
from dispatch.auth.schemas import LoginRequest, LoginResponse, SecondFactorRequired, UserCreate, UserOut
from dispatch.auth.throttle import client_address, too_many_failures
from dispatch.deps import db_session, get_services

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/login", response_model=LoginResponse | SecondFactorRequired, dependencies=[public()])
def login(body: LoginRequest, request: Request, response: Response, session: Session = Depends(db_session)):
    """Exchange a username and password for a bearer token (also set as an HttpOnly cookie); with a second
    factor enrolled, 202 and a challenge for /api/v1/auth/login/verify instead (unless this browser is
    remembered)."""
    services = get_services(request)
    address = client_address(request)
    wait = services.throttle.admit(body.username, address)
    if wait:
        raise too_many_failures(wait)
    user = service.authenticate(session, services.passwords, body.username, body.password)
    if user is None:  # counted as a failure when admitted
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="wrong username or password")
    step = services.two_factor.after_password(session, services.clock, user, request.cookies.get(DEVICE_COOKIE))
    if step.challenge is not None:
        # Failures are cleared only once the second factor passes: re-entering the password does not
        # buy more code guesses.
        services.throttle.refund(body.username, address)
        session.commit()
        response.status_code = status.HTTP_202_ACCEPTED
        return step.challenge
    services.throttle.succeeded(body.username, address)
    return begin_session(session, request, response, user, enrolment_only=step.enrolment_only)


@router.post("/auth/logout", status_code=204, dependencies=[enrolling()])
def logout(request: Request, response: Response, session: Session = Depends(db_session)) -> None:
    """End this login session."""
    token = bearer_token(request)
    if token:
        service.revoke_token(session, get_services(request).clock, token)
        session.commit()
    response.delete_cookie(SESSION_COOKIE)


@router.get("/auth/me", response_model=UserOut, dependencies=[enrolling()])
def me(user: User = Depends(current_user)) -> User:
    """Who is logged in."""
    return user


@router.get("/users", response_model=list[UserOut], dependencies=[allow(Role.admin)])
def list_users(session: Session = Depends(db_session)) -> list[User]:
    """Every user account."""
    return list(session.scalars(select(User).order_by(User.username)))


@router.post("/users", response_model=UserOut, status_code=201, dependencies=[allow(Role.admin)])
def create_user(body: UserCreate, request: Request, session: Session = Depends(db_session)) -> User:
    """Create a user with one role."""
    if body.role is Role.clinic_admin and body.clinic_id is None:
        raise HTTPException(422, detail="clinic_id: a clinic admin must belong to a clinic")
    services = get_services(request)
    try:
        user = service.create_user(session, services.passwords, services.clock, **body.model_dump())
    except service.UsernameTaken:
        raise HTTPException(409, detail=f"username {body.username!r} is already taken") from None
    except (service.UnknownReference, service.AreaRejected) as exc:
        raise HTTPException(422, detail=str(exc)) from None
    session.commit()
    return user
