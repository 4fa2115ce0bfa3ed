"""Rotations and the month's roster made from them: generate, publish, override one shift."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.auth.scope import area_scope
from dispatch.deps import db_session, get_services
from dispatch.ids import PathId
from dispatch.programme.choice import AREA_HELP, asked_programme
from dispatch.programme.periods import asked_month
from dispatch.programme.service import ProgrammeSnapshot
from dispatch.roster import months, rotations
from dispatch.roster.models import Rotation, Shift
from dispatch.roster.schemas import (
    MonthGeneratedOut,
    MonthPublishedOut,
    RosterShiftOut,
    RotationIn,
    RotationOut,
    ShiftOverrideIn,
)
from dispatch.roster.service import RosterRejected, towns_inside

router = APIRouter(prefix="/api/v1/roster", tags=["roster"])
READERS = (Role.operator, Role.consulting_physician, Role.coordinator, Role.admin)
EDITORS = (Role.coordinator, Role.admin)
# `?area=`: the centre's coordinator and the admin name any area (none: every area); an area coordinator
# their own only (another's: 404), and without it theirs.
AREA = Query(None, max_length=32, description=AREA_HELP)


def _month(text: str) -> date:
    try:
        return asked_month(text)
    except ValueError as exc:
        raise HTTPException(422, detail=f"month: {exc}") from None


def _programme(
    request: Request, session: Session, user: User, area: str | None = None
) -> tuple[ProgrammeSnapshot, int | None]:
    """The programme whose hours a month's nights follow (`area`'s, else an area coordinator's area's, else
    the centre's), and the area the route is held to (None: every area)."""
    services = get_services(request)
    programme = asked_programme(request, session, user, area)
    held_to = programme.area_id if area is not None else area_scope(user)
    return services.reference.programme(session, programme.code), held_to


def _rotation_out(rotation: Rotation) -> RotationOut:
    return RotationOut(
        id=rotation.id,
        name=rotation.name,
        kind=rotation.kind,
        weekdays=rotation.weekdays,
        physician_ids=rotation.physician_ids,
        coverage=[m.id for m in rotation.coverage],
        starts_on=rotation.starts_on,
        ends_on=rotation.ends_on,
        active=rotation.active,
    )


def _shift_out(shift: Shift, tz: ZoneInfo) -> RosterShiftOut:
    return RosterShiftOut(
        id=shift.id,
        physician_id=shift.physician_id,
        physician_name=shift.physician.name,
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
        coverage=[m.name for m in shift.coverage],
        day=shift.rotation_day or shift.starts_at.astimezone(tz).date(),
        rotation_id=shift.rotation_id,
        generated=shift.generated,
        published=shift.published,
        overridden=shift.overridden,
        removed=shift.removed,
    )


@router.get("/rotations", response_model=list[RotationOut], dependencies=[allow(*READERS)])
def list_rotations(
    request: Request,
    area: str | None = AREA,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> list[RotationOut]:
    """Every rotation (of `area`; an area coordinator: their area's), active first."""
    _, held_to = _programme(request, session, user, area)
    return [_rotation_out(r) for r in rotations.rotations(session, held_to)]


@router.post("/rotations", response_model=RotationOut, status_code=201, dependencies=[allow(*EDITORS)])
def add_rotation(
    body: RotationIn,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> RotationOut:
    """A recurring pattern: every week, every other week, or a weekly turn through a list of physicians."""
    try:
        towns_inside(session, area_scope(user), "coverage", body.coverage)
        rotation = rotations.add_rotation(session, get_services(request).clock, user, **body.model_dump())
    except RosterRejected as exc:
        raise HTTPException(422, detail=str(exc)) from None
    session.commit()
    return _rotation_out(rotation)


@router.delete("/rotations/{rotation_id}", response_model=RotationOut, dependencies=[allow(*EDITORS)])
def end_rotation(
    request: Request,
    rotation_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> RotationOut:
    """Stop a rotation: no more of its nights are generated; shifts already made stay."""
    rotation = session.get(Rotation, rotation_id)
    if rotation is None:
        raise HTTPException(404, detail=f"rotation_id: no rotation {rotation_id}")
    rotations.end_rotation(session, get_services(request).clock, user, rotation)
    session.commit()
    return _rotation_out(rotation)


@router.get("/months/{month}", response_model=list[RosterShiftOut], dependencies=[allow(*EDITORS)])
def month_roster(
    month: str,
    request: Request,
    area: str | None = AREA,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> list[RosterShiftOut]:
    """The month's shifts: drafts, published, removed (generated) and hand-made, by start (of `area`; an
    area coordinator: their area's)."""
    first = _month(month)
    programme, held_to = _programme(request, session, user, area)
    tz = ZoneInfo(programme.timezone)
    return [_shift_out(s, tz) for s in months.month_shifts(session, programme, first, held_to)]


@router.post("/months/{month}/generate", response_model=MonthGeneratedOut, dependencies=[allow(*EDITORS)])
def generate_month(
    month: str,
    request: Request,
    area: str | None = AREA,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> MonthGeneratedOut:
    """Make the month's draft shifts from the rotations (of `area`; an area coordinator: their area's; else
    every area's, each in its own area's service hours); run again, untouched drafts are made anew."""
    first = _month(month)
    services = get_services(request)
    programme, held_to = _programme(request, session, user, area)
    everyone = services.reference.all(session)
    try:
        result = months.generate_month(session, services.clock, user, programme, first, held_to, everyone)
    except RosterRejected as exc:
        raise HTTPException(422, detail=str(exc)) from None
    session.commit()
    return MonthGeneratedOut(month=first.isoformat()[:7], **result.__dict__)


@router.post("/months/{month}/publish", response_model=MonthPublishedOut, dependencies=[allow(*EDITORS)])
def publish_month(
    month: str,
    request: Request,
    area: str | None = AREA,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> MonthPublishedOut:
    """Make the month's drafts live (of `area`; an area coordinator: their area's; else every area's): from
    now on matching offers them."""
    first = _month(month)
    _, held_to = _programme(request, session, user, area)
    published = months.publish_month(session, get_services(request).clock, user, first, held_to)
    session.commit()
    return MonthPublishedOut(month=first.isoformat()[:7], published=published)


@router.patch("/shifts/{shift_id}", response_model=RosterShiftOut, dependencies=[allow(*EDITORS)])
def override_shift(
    body: ShiftOverrideIn,
    request: Request,
    shift_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> RosterShiftOut:
    """Override one generated shift: another physician, or removed; a re-generate keeps the override."""
    services = get_services(request)
    try:
        shift = months.override_shift(
            session, services.clock, user, shift_id, physician_id=body.physician_id, remove=body.removed
        )
    except LookupError:
        raise HTTPException(404, detail=f"shift_id: no shift {shift_id}") from None
    except months.Conflict as exc:
        raise HTTPException(409, detail=str(exc)) from None
    except RosterRejected as exc:
        raise HTTPException(422, detail=str(exc)) from None
    session.commit()
    tz = ZoneInfo(_programme(request, session, user)[0].timezone)
    return _shift_out(shift, tz)
