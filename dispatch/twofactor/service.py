"""Enrolling an authenticator, checking its codes and the recovery codes, remembering a browser, turning the
second factor off. Plain functions over a session; every change is audited in the caller's transaction."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dispatch.audit import service as audit
from dispatch.auth.models import User
from dispatch.auth.passwords import Passwords
from dispatch.clock import Clock
from dispatch.twofactor import totp
from dispatch.twofactor.keys import SealBroken
from dispatch.twofactor.models import RecoveryCode, RememberedDevice, TotpFactor
from dispatch.twofactor.policy import TwoFactor, token_digest
from dispatch.twofactor.schemas import EnrolmentOut, TwoFactorStatus

RECOVERY_CODES = 10


class TwoFactorProblem(ValueError):
    """Something the caller asked cannot be done; the message says what, naming the field."""


class AlreadyEnrolled(TwoFactorProblem):
    """An authenticator is enrolled already."""


class NotEnrolled(TwoFactorProblem):
    """No authenticator is enrolled (or none is waiting to be confirmed)."""


class CodeRefused(TwoFactorProblem):
    """A code that is wrong (forged, mistyped, too old) or was used already."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class FactorUnreadable(TwoFactorProblem):
    """The stored secret cannot be opened: SECRET_KEY changed since enrolment, or the row was altered."""


def status(session: Session, clock: Clock, two_factor: TwoFactor, user: User) -> TwoFactorStatus:
    """The user's second factor as they may see it: never the secret."""
    factor = session.get(TotpFactor, user.id)
    left = session.scalar(
        select(func.count()).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
    devices = session.scalar(select(func.count()).where(*_live_devices(clock, user)))
    return TwoFactorStatus(
        enrolled=factor is not None and factor.confirmed_at is not None,
        pending=factor is not None and factor.confirmed_at is None,
        confirmed_at=factor.confirmed_at if factor else None,
        recovery_codes_left=left or 0,
        remembered_devices=devices or 0,
        required=two_factor.required_for(user),
    )


def begin_enrolment(session: Session, clock: Clock, two_factor: TwoFactor, user: User) -> EnrolmentOut:
    """A new secret, pending until a code from it confirms it; a pending one before it is replaced (in one
    statement, so a double click gives no error)."""
    secret = totp.new_secret()
    pending = {"secret_sealed": two_factor.keys.seal(secret), "created_at": clock.now(), "last_step": None}
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(TotpFactor).values(user_id=user.id, **pending)
    started = session.execute(
        insert.on_conflict_do_update(
            index_elements=[TotpFactor.user_id], set_=pending, where=TotpFactor.confirmed_at.is_(None)
        ).returning(TotpFactor.user_id)
    ).first()
    if started is None:
        raise AlreadyEnrolled("an authenticator is already enrolled; turn it off first to enrol another")
    audit.record(session, clock, user, "two_factor.enrolment_started")
    uri = totp.provisioning_uri(secret, user.username)
    return EnrolmentOut(secret=secret, otpauth_uri=uri, qr_svg=totp.qr_svg(uri))


def confirm_enrolment(
    session: Session, clock: Clock, two_factor: TwoFactor, user: User, code: str
) -> list[str]:
    """Activate the pending authenticator with a code from it; returns the recovery codes (shown once)."""
    factor = _locked_factor(session, user)
    if factor is None:
        raise NotEnrolled("no enrolment is waiting: start one at /api/v1/auth/totp/enrol")
    if factor.confirmed_at is not None:
        raise AlreadyEnrolled("an authenticator is already enrolled")
    step = totp.matching_step(_secret(two_factor, factor), code, clock.now())
    if step is None:
        raise CodeRefused(
            "code: not the app's current code; check the phone's clock, enter the newest", "wrong"
        )
    factor.confirmed_at, factor.last_step = clock.now(), step
    audit.record(session, clock, user, "two_factor.enrolled")
    return _new_recovery_codes(session, clock, two_factor, user)


def check_code(session: Session, clock: Clock, two_factor: TwoFactor, user: User, code: str) -> None:
    """Accept a code from the enrolled authenticator once; CodeRefused if it is wrong or was used already.
    A code's time step is claimed in one UPDATE, so two requests with one code cannot both pass."""
    factor = session.get(TotpFactor, user.id)
    if factor is None or factor.confirmed_at is None:
        raise NotEnrolled("no authenticator is enrolled")
    step = totp.matching_step(_secret(two_factor, factor), code, clock.now())
    if step is None:
        raise CodeRefused("code: wrong or expired", "wrong")
    claimed = session.execute(
        update(TotpFactor)
        .where(
            TotpFactor.user_id == user.id,
            or_(TotpFactor.last_step.is_(None), TotpFactor.last_step < step),
        )
        .values(last_step=step)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise CodeRefused("code: already used; wait for the next code", "reused")


def use_recovery_code(session: Session, clock: Clock, two_factor: TwoFactor, user: User, code: str) -> int:
    """Spend one recovery code; returns how many are left. CodeRefused if it is wrong or spent."""
    digest = two_factor.keys.code_digest(user.id, normalise_recovery_code(code))
    spent = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id, RecoveryCode.code_digest == digest, RecoveryCode.used_at.is_(None)
        )
        .values(used_at=clock.now())
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise CodeRefused("recovery_code: wrong or already used", "wrong")
    left = session.scalar(
        select(func.count()).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
    audit.record(session, clock, user, "two_factor.recovery_code_used", detail={"left": left})
    return left or 0


def prove(
    session: Session,
    clock: Clock,
    two_factor: TwoFactor,
    passwords: Passwords,
    user: User,
    *,
    code: str | None = None,
    password: str | None = None,
) -> None:
    """The logged-in user shows it is them before a change to their second factor: a current code, or their
    password. CodeRefused otherwise."""
    if code is not None:
        check_code(session, clock, two_factor, user, code)
    elif password is None or not passwords.verify(user.password_hash, password):
        raise CodeRefused("password: wrong", "wrong_password")


def record_failure(session: Session, clock: Clock, user: User, what: str, reason: str) -> None:
    """Audit a refused code (the caller commits it even as it refuses the request)."""
    audit.record(session, clock, user, "two_factor.failed", detail={"what": what, "reason": reason})


def renew_recovery_codes(session: Session, clock: Clock, two_factor: TwoFactor, user: User) -> list[str]:
    """A new set of recovery codes; the old ones stop working."""
    if not _enrolled(session, user):
        raise NotEnrolled("no authenticator is enrolled")
    audit.record(session, clock, user, "two_factor.recovery_codes_renewed")
    return _new_recovery_codes(session, clock, two_factor, user)


def remember_device(session: Session, clock: Clock, two_factor: TwoFactor, user: User) -> tuple[str, datetime]:
    """Remember this browser for one shift; returns the cookie's token and when it lapses."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    expires_at = now + timedelta(seconds=two_factor.remember_s)
    session.add(
        RememberedDevice(
            user_id=user.id, token_sha256=token_digest(token), created_at=now, expires_at=expires_at
        )
    )
    audit.record(session, clock, user, "two_factor.device_remembered", detail={"until": expires_at.isoformat()})
    return token, expires_at


def forget_devices(session: Session, clock: Clock, user: User) -> int:
    """Stop remembering every browser of `user`; returns how many were remembered."""
    count = end_remembered_devices(session, clock, user)
    audit.record(session, clock, user, "two_factor.devices_forgotten", detail={"devices": count})
    return count


def disable(session: Session, clock: Clock, user: User) -> None:
    """Turn the second factor off: the secret, the recovery codes and the remembered browsers go."""
    if session.get(TotpFactor, user.id) is None:
        raise NotEnrolled("no authenticator is enrolled")
    _remove(session, clock, user)
    audit.record(session, clock, user, "two_factor.disabled")


def reset(session: Session, clock: Clock, admin: User | None, target: User) -> None:
    """An admin (or `dispatch user reset-two-factor`) clears a user's second factor, for a lost phone: they
    enrol again at their next login."""
    _remove(session, clock, target)
    detail: dict[str, Any] = {"user_id": target.id, "username": target.username}
    audit.record(session, clock, admin, "two_factor.reset", detail=detail)


def normalise_recovery_code(code: str) -> str:
    """A recovery code as stored: lower case, without the hyphen or spaces people type."""
    return "".join(code.split()).replace("-", "").lower()


def _remove(session: Session, clock: Clock, user: User) -> None:
    end_remembered_devices(session, clock, user)
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.execute(delete(TotpFactor).where(TotpFactor.user_id == user.id))


def end_remembered_devices(session: Session, clock: Clock, user: User) -> int:
    """Stop remembering every browser of `user`, unaudited (the caller audits what ended them)."""
    forgotten = session.execute(
        update(RememberedDevice).where(*_live_devices(clock, user)).values(revoked_at=clock.now())
    )
    return int(forgotten.rowcount)  # type: ignore[attr-defined]


def _new_recovery_codes(session: Session, clock: Clock, two_factor: TwoFactor, user: User) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]  # 40 random bits each, used once
    for code in codes:
        digest = two_factor.keys.code_digest(user.id, code)
        session.add(RecoveryCode(user_id=user.id, code_digest=digest, created_at=clock.now()))
    session.flush()
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def _locked_factor(session: Session, user: User) -> TotpFactor | None:
    """The user's factor, with the user's row locked until commit: a double click confirms once."""
    session.execute(select(User.id).where(User.id == user.id).with_for_update())
    return session.get(TotpFactor, user.id, populate_existing=True)


def _secret(two_factor: TwoFactor, factor: TotpFactor) -> str:
    try:
        return two_factor.keys.unseal(factor.secret_sealed)
    except SealBroken:
        raise FactorUnreadable(
            "the enrolled authenticator cannot be read (SECRET_KEY changed since enrolment?): an admin must "
            "reset the second factor"
        ) from None


def _enrolled(session: Session, user: User) -> bool:
    confirmed = session.scalar(select(TotpFactor.confirmed_at).where(TotpFactor.user_id == user.id))
    return confirmed is not None


def _live_devices(clock: Clock, user: User) -> tuple[Any, ...]:
    return (
        RememberedDevice.user_id == user.id,
        RememberedDevice.revoked_at.is_(None),
        RememberedDevice.expires_at > clock.now(),
    )
