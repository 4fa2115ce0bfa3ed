"""Changing passwords, ending sessions, deactivating accounts: plain functions over a session, audited."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dispatch.audit import service as audit
from dispatch.auth.models import User
from dispatch.auth.passwords import Passwords
from dispatch.auth.service import area_for, end_sessions
from dispatch.clock import Clock
from dispatch.twofactor.service import end_remembered_devices


class WrongPassword(ValueError):
    """The current password given is not the user's."""


class SamePassword(ValueError):
    """The new password is the current one."""


class OwnAccount(ValueError):
    """An admin acting on their own account where another admin must (or the user's own route should)."""


def _end_logins(session: Session, clock: Clock, user: User, except_token: str | None = None) -> int:
    """End the user's sessions (but the one of `except_token`) and forget their remembered browsers, so
    that whoever held one of them must give the password and the second factor again."""
    end_remembered_devices(session, clock, user)
    return end_sessions(session, clock, user.id, except_token=except_token)


def logout_everywhere(session: Session, clock: Clock, user: User) -> int:
    """End every session of the user, this one included; returns how many ended."""
    ended = _end_logins(session, clock, user)
    audit.record(session, clock, user, "user.logout_everywhere", detail=_facts(user, ended))
    return ended


def change_password(
    session: Session,
    clock: Clock,
    passwords: Passwords,
    user: User,
    *,
    current: str,
    new: str,
    token: str | None,
) -> int:
    """The user sets a new password, proving the current one; their other sessions end, this one stays."""
    if not passwords.verify(user.password_hash, current):
        raise WrongPassword("is not your current password")
    if new == current:
        raise SamePassword("must differ from the current password")
    user.password_hash = passwords.hash(new)
    ended = _end_logins(session, clock, user, except_token=token)
    audit.record(session, clock, user, "user.password.change", detail=_facts(user, ended))
    return ended


def reset_password(
    session: Session, clock: Clock, passwords: Passwords, *, admin: User, user: User, new: str
) -> int:
    """An admin sets a new password for another user, whose sessions all end."""
    if user.id == admin.id:
        raise OwnAccount(
            "change your own password with POST /api/v1/auth/password, which asks for the current one"
        )
    user.password_hash = passwords.hash(new)
    ended = _end_logins(session, clock, user)
    audit.record(session, clock, admin, "user.password.reset", detail=_facts(user, ended))
    return ended


def deactivate(session: Session, clock: Clock, *, admin: User, user: User) -> int:
    """An admin deactivates a user: every session ends at once and no login succeeds until reactivated."""
    if user.id == admin.id:
        raise OwnAccount("an admin cannot deactivate their own account; ask another admin")
    user.active = False
    ended = _end_logins(session, clock, user)
    audit.record(session, clock, admin, "user.deactivate", detail=_facts(user, ended))
    return ended


def activate(session: Session, clock: Clock, *, admin: User, user: User) -> None:
    """An admin lets a deactivated user log in again."""
    user.active = True
    audit.record(session, clock, admin, "user.activate", detail=_facts(user))


def set_area(session: Session, clock: Clock, *, admin: User, user: User, code: str | None) -> None:
    """An admin gives a coordinator an area (their cases only from their next request) or takes it away."""
    before = user.area_id
    user.area_id = area_for(session, user.role, code)
    audit.record(session, clock, admin, "user.area", detail={**_facts(user), "area": code, "before": before})


def _facts(user: User, sessions_ended: int | None = None) -> dict[str, object]:
    facts: dict[str, object] = {"user_id": user.id, "username": user.username}
    if sessions_ended is not None:
        facts["sessions_ended"] = sessions_ended
    return facts
