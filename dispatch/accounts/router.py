"""Logging out everywhere and changing one's password (every role); deactivating, reactivating and setting a
new password for a user (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session

from dispatch.accounts import service
from dispatch.accounts.schemas import PasswordChange, PasswordReset, SessionsEnded
from dispatch.auth.guard import SESSION_COOKIE, allow, authenticated, bearer_token, current_user
from dispatch.auth.models import Role, User
from dispatch.auth.schemas import AreaAssignment, UserOut
from dispatch.auth.service import AreaRejected
from dispatch.auth.throttle import client_address, too_many_failures
from dispatch.deps import db_session, get_services
from dispatch.ids import PathId

router = APIRouter(prefix="/api/v1", tags=["auth"])


def _field_problem(field: str, problem: str) -> RequestValidationError:
    """A 422 naming the field, worded like every other validation error."""
    return RequestValidationError([{"loc": ("body", field), "msg": problem, "type": "value_error"}])


def _other_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(404, detail=f"no user {user_id}")
    return user


@router.post("/auth/logout-everywhere", response_model=SessionsEnded, dependencies=[authenticated()])
def logout_everywhere(
    request: Request,
    response: Response,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> SessionsEnded:
    """End every session of the caller on every device, this one included."""
    ended = service.logout_everywhere(session, get_services(request).clock, user)
    session.commit()
    response.delete_cookie(SESSION_COOKIE)
    return SessionsEnded(sessions_ended=ended)


@router.post("/auth/password", response_model=SessionsEnded, dependencies=[authenticated()])
def change_password(
    body: PasswordChange,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> SessionsEnded:
    """Change the caller's own password (the current one is required); their other sessions end, this one
    stays. Wrong current passwords are throttled like failed logins."""
    services = get_services(request)
    address = client_address(request)
    wait = services.throttle.admit(user.username, address)
    if wait:
        raise too_many_failures(wait)
    try:
        ended = service.change_password(
            session,
            services.clock,
            services.passwords,
            user,
            current=body.current_password,
            new=body.new_password,
            token=bearer_token(request),
        )
    except service.WrongPassword as exc:
        raise _field_problem("current_password", str(exc)) from None
    except service.SamePassword as exc:
        services.throttle.succeeded(user.username, address)  # the current password was right
        raise _field_problem("new_password", str(exc)) from None
    session.commit()
    services.throttle.succeeded(user.username, address)
    return SessionsEnded(sessions_ended=ended)


@router.post("/users/{user_id}/deactivate", response_model=UserOut, dependencies=[allow(Role.admin)])
def deactivate_user(
    user_id: PathId,
    request: Request,
    admin: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> User:
    """Stop a user from logging in; every session of theirs ends at once (not one's own: 409)."""
    user = _other_user(session, user_id)
    try:
        service.deactivate(session, get_services(request).clock, admin=admin, user=user)
    except service.OwnAccount as exc:
        raise HTTPException(409, detail=str(exc)) from None
    session.commit()
    return user


@router.post("/users/{user_id}/activate", response_model=UserOut, dependencies=[allow(Role.admin)])
def activate_user(
    user_id: PathId,
    request: Request,
    admin: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> User:
    """Let a deactivated user log in again."""
    user = _other_user(session, user_id)
    service.activate(session, get_services(request).clock, admin=admin, user=user)
    session.commit()
    return user


@router.post("/users/{user_id}/password", response_model=SessionsEnded, dependencies=[allow(Role.admin)])
def reset_password(
    user_id: PathId,
    body: PasswordReset,
    request: Request,
    admin: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> SessionsEnded:
    """Set a new password for another user (one who forgot theirs): their sessions end, and the failed
    logins counted against the account are forgotten."""
    services = get_services(request)
    user = _other_user(session, user_id)
    try:
        ended = service.reset_password(
            session, services.clock, services.passwords, admin=admin, user=user, new=body.new_password
        )
    except service.OwnAccount as exc:
        raise HTTPException(409, detail=str(exc)) from None
    session.commit()
    services.throttle.forget_account(user.username)
    return SessionsEnded(sessions_ended=ended)


@router.put("/users/{user_id}/area", response_model=UserOut, dependencies=[allow(Role.admin)])
def assign_area(
    user_id: PathId,
    body: AreaAssignment,
    request: Request,
    admin: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> User:
    """Hold a coordinator to one medical area (by its code), or give them every area again (null)."""
    user = _other_user(session, user_id)
    try:
        service.set_area(session, get_services(request).clock, admin=admin, user=user, code=body.area)
    except AreaRejected as exc:
        raise _field_problem("area", str(exc).removeprefix("area: ")) from None
    session.commit()
    return user
