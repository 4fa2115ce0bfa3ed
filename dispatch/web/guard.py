"""Page access by role: like the API's guard, but a browser is sent to log in or shown a page, not JSON."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.auth.guard import RoleGuard
from dispatch.auth.models import Role, User
from dispatch.auth.scope import area_scope
from dispatch.programme.models import MedicalArea

NEXT_MAX = 500  # the login page's `next` (its Query's max_length), at most


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


class PageNotFound(Exception):
    """Nothing at this address that the viewer may see (another area's case, for an area coordinator)."""

    def __init__(self, viewer: Viewer) -> None:
        self.viewer = viewer


class EnrolmentRequired(Exception):
    """Logged in, but the login must enrol a second factor before anything else: to the two-factor page."""


class PageGuard(RoleGuard):
    """Let through the declared roles; send everyone else to the login page or a 403 page, and a login still
    to enrol its second factor to the two-factor page."""

    def anonymous(self, request: Request) -> Exception:
        # The query too: a shared link (e.g. /gaps?area=katori-kaiso) opens as shared after the login (one
        # too long for the login page's `next` is dropped).
        path, query = request.url.path, request.url.query
        return LoginRequired(f"{path}?{query}" if query and len(path) + len(query) < NEXT_MAX else path)

    def forbidden(self, user: User) -> Exception:
        return PageForbidden(Viewer.of(user))

    def enrolment_required(self, user: User) -> Exception:
        return EnrolmentRequired()

    def not_visible(self, user: User, name: str, value: str) -> Exception:
        return PageNotFound(Viewer.of(user))

    def check_area(self, request: Request, session: Session, user: User) -> None:
        """As the API's; and the header names an area coordinator's area (「香取海匝 コーディネーター」)."""
        super().check_area(request, session, user)
        area_id = area_scope(user)
        if area_id is not None:
            request.state.area_name = session.scalar(select(MedicalArea.name).where(MedicalArea.id == area_id))


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
