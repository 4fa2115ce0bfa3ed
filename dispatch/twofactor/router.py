"""The login's second step, and each user's authenticator: enrol, confirm, recovery codes, turn off; an
admin's reset for a lost phone."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from sqlalchemy.orm import Session

from dispatch.auth import service as auth_service
from dispatch.auth.guard import allow, authenticated, bearer_token, current_user, enrolling, public
from dispatch.auth.login import DEVICE_COOKIE, DEVICE_COOKIE_PATH, begin_session
from dispatch.auth.models import Role, User
from dispatch.auth.schemas import LoginResponse
from dispatch.auth.throttle import client_address, too_many_failures
from dispatch.deps import db_session, get_services, model_response
from dispatch.ids import PathId
from dispatch.twofactor import service
from dispatch.twofactor.policy import ChallengeInvalid
from dispatch.twofactor.schemas import (
    CodeIn,
    DisableIn,
    EnrolmentOut,
    LoginVerify,
    RecoveryCodesOut,
    TwoFactorStatus,
)

router = APIRouter(prefix="/api/v1", tags=["two-factor"])
NO_STORE = {"Cache-Control": "no-store"}


@router.post("/auth/login/verify", response_model=LoginResponse, dependencies=[public()])
def verify_login(
    body: LoginVerify, request: Request, response: Response, session: Session = Depends(db_session)
):
    """The login's second step: the challenge and a code from the app (or a recovery code); optionally
    remember this browser for one shift."""
    services = get_services(request)
    try:
        user = session.get(User, services.two_factor.challenged_user(services.clock, body.challenge))
    except ChallengeInvalid as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=str(exc)) from None
    if user is None or not user.active:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="challenge: not valid; log in again")
    with _counted(session, request, user, "code" if body.code else "recovery_code", 401):
        if body.code is not None:
            service.check_code(session, services.clock, services.two_factor, user, body.code)
        else:
            service.use_recovery_code(
                session, services.clock, services.two_factor, user, body.recovery_code or ""
            )
    if body.remember_device and services.two_factor.remember_s:
        token, _ = service.remember_device(session, services.clock, services.two_factor, user)
        response.set_cookie(
            DEVICE_COOKIE,
            token,
            max_age=services.two_factor.remember_s,
            path=DEVICE_COOKIE_PATH,
            httponly=True,
            samesite="strict",
            secure=services.settings.is_production,
        )
    return begin_session(session, request, response, user)


@router.get("/auth/totp", response_model=TwoFactorStatus, dependencies=[enrolling()])
def totp_status(request: Request, user: User = Depends(current_user), session: Session = Depends(db_session)):
    """The caller's second factor: enrolled or pending, recovery codes left, remembered browsers, required."""
    services = get_services(request)
    return service.status(session, services.clock, services.two_factor, user)


@router.post("/auth/totp/enrol", response_model=EnrolmentOut, dependencies=[enrolling()])
def enrol(request: Request, user: User = Depends(current_user), session: Session = Depends(db_session)):
    """Start enrolling an authenticator app: its secret, otpauth URI and QR code, shown this once. It counts
    only once confirmed with a code."""
    services = get_services(request)
    with _problems():
        enrolment = service.begin_enrolment(session, services.clock, services.two_factor, user)
    session.commit()
    return model_response(enrolment, headers=NO_STORE)


@router.post("/auth/totp/confirm", response_model=RecoveryCodesOut, dependencies=[enrolling()])
def confirm(body: CodeIn, request: Request, user: User = Depends(current_user), session=Depends(db_session)):
    """Confirm the enrolment with the app's current code: the second factor is on, this login may do all its
    role allows, and the recovery codes are shown once."""
    services = get_services(request)
    with _problems():
        codes = service.confirm_enrolment(session, services.clock, services.two_factor, user, body.code)
    token = bearer_token(request)
    if token:
        auth_service.set_enrolment_only(session, token, False)
    session.commit()
    return _codes(codes)


@router.post("/auth/totp/recovery-codes", response_model=RecoveryCodesOut, dependencies=[authenticated()])
def renew_recovery_codes(
    body: CodeIn, request: Request, user: User = Depends(current_user), session=Depends(db_session)
):
    """New recovery codes for a current code; the old ones stop working."""
    services = get_services(request)
    with _counted(session, request, user, "code", 422):
        service.check_code(session, services.clock, services.two_factor, user, body.code)
    with _problems():
        codes = service.renew_recovery_codes(session, services.clock, services.two_factor, user)
    session.commit()
    return _codes(codes)


@router.post("/auth/totp/disable", response_model=TwoFactorStatus, dependencies=[authenticated()])
def disable(body: DisableIn, request: Request, user: User = Depends(current_user), session=Depends(db_session)):
    """Turn the second factor off, for a current code or the password. Where the role requires one, this
    login may then only enrol a new authenticator (a new phone)."""
    services = get_services(request)
    two_factor = services.two_factor
    with _counted(session, request, user, "code" if body.code else "password", 422):
        service.prove(
            session,
            services.clock,
            two_factor,
            services.passwords,
            user,
            code=body.code,
            password=body.password,
        )
    with _problems():
        service.disable(session, services.clock, user)
    token = bearer_token(request)
    if token and two_factor.required_for(user):
        auth_service.set_enrolment_only(session, token, True)
    session.commit()
    return service.status(session, services.clock, two_factor, user)


@router.post("/auth/totp/devices/forget", response_model=TwoFactorStatus, dependencies=[authenticated()])
def forget_devices(request: Request, user: User = Depends(current_user), session=Depends(db_session)):
    """Stop remembering every browser of the caller: each asks for a code at its next login."""
    services = get_services(request)
    service.forget_devices(session, services.clock, user)
    session.commit()
    return service.status(session, services.clock, services.two_factor, user)


@router.post("/users/{user_id}/totp/reset", status_code=204, dependencies=[allow(Role.admin)])
def reset(user_id: PathId, request: Request, admin: User = Depends(current_user), session=Depends(db_session)):
    """Clear a user's second factor (a lost phone): secret, recovery codes, remembered browsers. Where their
    role requires one, they enrol again at their next login."""
    target = session.get(User, user_id)
    if target is None:
        raise HTTPException(404, detail=f"user_id: no user {user_id}")
    service.reset(session, get_services(request).clock, admin, target)
    session.commit()


def _codes(codes: list[str]) -> Response:
    return model_response(RecoveryCodesOut(recovery_codes=codes), headers=NO_STORE)


@contextmanager
def _problems() -> Iterator[None]:
    """A two-factor problem as an answer: 422 for a wrong code, 409 for a state that does not allow it."""
    try:
        yield
    except service.CodeRefused as exc:
        raise HTTPException(422, detail=str(exc)) from None
    except service.TwoFactorProblem as exc:
        raise HTTPException(409, detail=str(exc)) from None


@contextmanager
def _counted(session: Session, request: Request, user: User, what: str, refused_status: int) -> Iterator[None]:
    """A proof (a code, a recovery code, the password) throttled as a password is: held off while the
    throttle says so; a refusal audited, counted, and answered with `refused_status`."""
    services = get_services(request)
    address = client_address(request)
    wait = services.throttle.admit(user.username, address)  # counted as a failure until refunded
    if wait:
        raise too_many_failures(wait)
    try:
        yield
    except service.CodeRefused as exc:
        session.rollback()
        service.record_failure(session, services.clock, user, what, exc.reason)
        session.commit()
        raise HTTPException(refused_status, detail=str(exc)) from None
    except service.TwoFactorProblem as exc:
        raise HTTPException(409, detail=str(exc)) from None
    services.throttle.succeeded(user.username, address)
