"""Page access by role: like the API's guard, but a browser is sent to log in or shown a page, not JSON."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Depends, Request

from dispatch.auth.guard import RoleGuard
from dispatch.auth.models import Role, User


class LoginRequired(Exception):
    """Nobody is logged in: the browser goes to the login page and comes back after."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


@dataclass(frozen=True)
class Viewer:
    """Who is looking, as plain facts that outlive the request's database session."""

    username: str
    display_name: str
    role: Role
    physician_id: int | None

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(user.username, user.display_name, user.role, user.physician_id)


class PageForbidden(Exception):
    """Logged in, but this role may not open the page."""

    def __init__(self, viewer: Viewer) -> None:
        self.viewer = viewer


class EnrolmentRequired(Exception):
    """Logged in, but the login must enrol a second factor before anything else: to the two-factor page."""


class PageGuard(RoleGuard):
    """Let through the declared roles; send everyone else to the login page or a 403 page, and a login still
    to enrol its second factor to the two-factor page."""

    def anonymous(self, request: Request) -> Exception:
        return LoginRequired(request.url.path)

    def forbidden(self, user: User) -> Exception:
        return PageForbidden(Viewer.of(user))

    def enrolment_required(self, user: User) -> Exception:
        return EnrolmentRequired()


def page(*roles: Role, enrolling: bool = False) -> Depends:  # type: ignore[valid-type]
    """Declare the roles that may open a page (`enrolling`: also a login still to enrol a second factor)."""
    if not roles:
        raise ValueError("page() needs at least one role")
    return Depends(PageGuard(roles, enrolling=enrolling))


def login_url(next_path: str) -> str:
    """The login page, with where to go after."""
    return f"/login?next={quote(safe_next(next_path), safe='/')}"


def safe_next(next_path: str | None) -> str:
    """Only a path on this site: never `//host`, a full URL, or a path a browser would turn into one (it
    drops tabs and newlines, and reads a backslash as a slash): no open redirect."""
    if (
        not next_path
        or not next_path.startswith("/")
        or next_path.startswith("//")
        or "\\" in next_path
        or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in next_path)
    ):
        return "/"
    return next_path
