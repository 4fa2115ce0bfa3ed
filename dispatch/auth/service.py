"""Users, logins and sessions. Plain functions over a session; no HTTP here."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import ColumnElement, bindparam, select, update
from sqlalchemy.orm import Session

from dispatch.auth.models import Role, User, UserSession
from dispatch.auth.passwords import Passwords
from dispatch.clock import Clock


class UsernameTaken(ValueError):
    """Another user already has this username."""


class UnknownReference(ValueError):
    """A clinic or physician the new user should belong to does not exist."""


class AreaRejected(ValueError):
    """An area for a user that cannot be: no area has the code, or the user is not a coordinator."""


def area_for(session: Session, role: Role, code: str | None) -> int | None:
    """The id of the area with this code for a user of `role` (only a coordinator has one); None for none.
    Found through the user's foreign key, as users sit below the package that owns the areas."""
    if code is None:
        return None
    if role is not Role.coordinator:
        raise AreaRejected(f"area: only a coordinator has an area, not a {role.value}")
    (area_id,) = (foreign.column for foreign in User.__table__.c.area_id.foreign_keys)
    found = session.scalar(select(area_id).where(area_id.table.c.code == code))
    if found is None:
        raise AreaRejected(f"area: no medical area {code!r}")
    return found


def _refers_to_nothing(session: Session, key: ColumnElement[int | None], value: int) -> bool:
    """Whether no row has the id `value` where the user's foreign key `key` points (their clinic, their
    physician): looked up through the key, as users sit below the packages that own those rows."""
    (target,) = (foreign.column for foreign in key.foreign_keys)
    return session.scalar(select(target).where(target == value)) is None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session,
    passwords: Passwords,
    clock: Clock,
    *,
    username: str,
    password: str,
    display_name: str,
    role: Role,
    clinic_id: int | None = None,
    physician_id: int | None = None,
    area: str | None = None,
) -> User:
    """Add a user with a hashed password (a coordinator of one area: `area`, its code)."""
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UsernameTaken(username)
    if clinic_id is not None and _refers_to_nothing(session, User.__table__.c.clinic_id, clinic_id):
        raise UnknownReference(f"clinic_id: no clinic {clinic_id}")
    if physician_id is not None and _refers_to_nothing(session, User.__table__.c.physician_id, physician_id):
        raise UnknownReference(f"physician_id: no physician {physician_id}")
    area_id = area_for(session, role, area)
    user = User(
        username=username,
        display_name=display_name,
        password_hash=passwords.hash(password),
        role=role,
        clinic_id=clinic_id,
        physician_id=physician_id,
        area_id=area_id,
        active=True,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, passwords: Passwords, username: str, password: str) -> User | None:
    """The active user with these credentials, or None. Takes as long for unknown usernames."""
    user = session.scalar(select(User).where(User.username == username))
    ok = passwords.verify(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash(password)
    return user


def open_session(
    session: Session, clock: Clock, user: User, ttl_s: int, *, enrolment_only: bool = False
) -> tuple[str, UserSession]:
    """Start a login session; returns the bearer token (shown once) and the stored row."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    row = UserSession(
        token_sha256=_digest(token),
        user_id=user.id,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
        enrolment_only=enrolment_only,
    )
    session.add(row)
    session.flush()
    return token, row


class Login(NamedTuple):
    """A live login session's user, and whether it may as yet only enrol a second factor."""

    user: User
    enrolment_only: bool


# Built once: every authenticated request runs it.
_LOGIN_FOR_TOKEN = (
    select(User, UserSession.enrolment_only)
    .join(UserSession, UserSession.user_id == User.id)
    .where(
        UserSession.token_sha256 == bindparam("digest"),
        UserSession.revoked_at.is_(None),
        UserSession.expires_at > bindparam("now"),
        User.active.is_(True),
    )
)


def login_for_token(session: Session, clock: Clock, token: str) -> Login | None:
    """The active user behind a live, unrevoked token (and what the login allows), or None."""
    row = session.execute(_LOGIN_FOR_TOKEN, {"digest": _digest(token), "now": clock.now()}).one_or_none()
    return Login(row[0], row[1]) if row is not None else None


def set_enrolment_only(session: Session, token: str, enrolment_only: bool) -> None:
    """Limit the login behind `token` to enrolling a second factor (it gave its factor up where one is
    required), or lift the limit (it has just given one)."""
    row = session.scalar(select(UserSession).where(UserSession.token_sha256 == _digest(token)))
    if row is not None:
        row.enrolment_only = enrolment_only


def end_sessions(session: Session, clock: Clock, user_id: int, *, except_token: str | None = None) -> int:
    """Revoke every live session of a user, but the one behind `except_token`; returns how many ended."""
    now = clock.now()
    ending = (
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None), UserSession.expires_at > now)
        .values(revoked_at=now)
    )
    if except_token is not None:
        ending = ending.where(UserSession.token_sha256 != _digest(except_token))
    ended = session.execute(ending.returning(UserSession.id), execution_options={"synchronize_session": False})
    return len(ended.all())


def revoke_token(session: Session, clock: Clock, token: str) -> None:
    """End the login session behind `token`."""
    row = session.scalar(select(UserSession).where(UserSession.token_sha256 == _digest(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = clock.now()
