"""Which area's programme a request acts on when it may name one (`?area=CODE`): any area for the centre's
coordinator, the admin and the prefecture; an area coordinator their own only (another area's reads as one
that does not exist, as every object of another area does: `dispatch.area_paths`)."""

from __future__ import annotations

from fastapi import HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.auth.models import User
from dispatch.auth.scope import area_scope
from dispatch.programme.models import MedicalArea, Municipality, Programme
from dispatch.programme.service import ProgrammeNotLoaded, users_programme

# The `?area=` of every route that may act on another area.
AREA_HELP = "a medical area's code, e.g. inba, katori-kaiso (default: your area's, else the centre's)"


class UnknownArea(LookupError):
    """No medical area (or municipality) has this code."""


def area_id_of(session: Session, code: str) -> int:
    """The id of the area with this code; UnknownArea otherwise."""
    area_id = session.scalar(select(MedicalArea.id).where(MedicalArea.code == code))
    if area_id is None:
        raise UnknownArea(code)
    return area_id


class AreaHidden(LookupError):
    """An area coordinator named an area other than their own."""


def area_programme(session: Session, area_id: int) -> Programme:
    """The programme serving an area (the first, should there ever be two); ProgrammeNotLoaded otherwise."""
    programme = session.scalar(select(Programme).where(Programme.area_id == area_id).order_by(Programme.id))
    if programme is None:
        raise ProgrammeNotLoaded(f"no programme serves area {area_id} yet")
    return programme


def town_programme(session: Session, municipality_code: str) -> Programme:
    """The programme of the area a municipality (by its code, e.g. 12347) lies in."""
    area_id = session.scalar(select(Municipality.area_id).where(Municipality.code == municipality_code))
    if area_id is None:
        raise UnknownArea(municipality_code)
    return area_programme(session, area_id)


def chosen_programme(session: Session, user: User, default_code: str, area: str | None) -> Programme:
    """`area`'s programme when named (UnknownArea, or AreaHidden for another area's coordinator), else the
    user's: an area coordinator's area's, everyone else the deployment's default."""
    if area is None:
        return users_programme(session, user, default_code)
    area_id = area_id_of(session, area)
    own = area_scope(user)
    if own is not None and own != area_id:
        raise AreaHidden(area)
    return area_programme(session, area_id)


def asked_programme(request: Request, session: Session, user: User, area: str | None) -> Programme:
    """`chosen_programme` for a route: an unknown area 422, another area's 404 (both naming `area`), no
    programme yet for the area asked 422, none for the default 503."""
    default_code = request.app.state.services.settings.programme_code
    try:
        return chosen_programme(session, user, default_code, area)
    except UnknownArea:
        raise HTTPException(422, detail=f"area: no medical area {area!r}") from None
    except AreaHidden:
        raise HTTPException(404, detail=f"area: no area {area!r} that you may see") from None
    except ProgrammeNotLoaded as exc:
        if area is not None:
            raise HTTPException(422, detail=f"area: no programme serves {area!r} yet") from None
        raise HTTPException(503, detail=str(exc)) from None
