"""From the database to the policy's inputs: the cases waiting for a physician and who is free."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BindParameter, ScalarSelect, Select, bindparam, func, select
from sqlalchemy.orm import Session

from dispatch.cases.models import Case
from dispatch.cases.states import ACTIVE_VISIT_STATES, CaseState, Urgency
from dispatch.matching.policy import AvailablePhysician, WaitingCase
from dispatch.matching.travel import Point, StraightLineEstimate
from dispatch.offers.models import Offer, OfferState
from dispatch.patients.models import Patient
from dispatch.programme.models import Municipality, Programme
from dispatch.programme.service import ProgrammeSnapshot
from dispatch.roster.models import Physician
from dispatch.roster.service import on_call_select

WAITING_STATES = (CaseState.dispatching, CaseState.unfilled)
TURNED_DOWN = (OfferState.declined, OfferState.timed_out, OfferState.failed)
LAST_VISIT_COUNTS_FOR = timedelta(hours=8)


def estimator_for(programme: ProgrammeSnapshot) -> StraightLineEstimate:
    """The programme area's travel-time estimate."""
    return StraightLineEstimate(road_factor=programme.road_factor, speed_kmh=programme.travel_speed_kmh)


def area_centre(session: Session, programme_id: int) -> Point:
    """The middle of the programme's area's municipalities: where a case of no known place is measured to."""
    lat, lon = session.execute(
        select(func.avg(Municipality.latitude), func.avg(Municipality.longitude))
        .join(Programme, Programme.area_id == Municipality.area_id)
        .where(Programme.id == programme_id)
    ).one()
    return Point(lat, lon)


@dataclass(frozen=True)
class Waiting:
    """A case waiting for a physician: its row, what the policy sees of it, and what its next offer needs."""

    case: Case
    view: WaitingCase
    offers_so_far: int
    town: str | None


# The patient's position only, not the patient: their record is not the matching's to read. Where the
# patient has none, the municipality's reference point. Built once (building cost more than running).
_WAITING = (
    select(Case, Patient.latitude, Patient.longitude)
    .add_columns(Municipality.latitude, Municipality.longitude, Municipality.name)
    .outerjoin(Patient, Patient.id == Case.patient_id)
    .outerjoin(Municipality, Municipality.id == Case.municipality_id)
    .where(Case.state.in_(WAITING_STATES), Case.current_offer_id.is_(None))
    .order_by(Case.id)
)
_OFFERS_SO_FAR = select(Offer.case_id, Offer.physician_id, Offer.state).where(
    Offer.case_id.in_(bindparam("cases", expanding=True))
)


def waiting_cases(session: Session) -> list[Waiting]:
    """Cases that need a physician and have no offer out."""
    rows = list(session.execute(_WAITING))
    if not rows:
        return []
    cases = [case for case, *_position in rows]
    # Every offer so far: who turned the case down (not offered it again), and how many (the attempt).
    excluded: dict[int, set[int]] = {}
    offers: dict[int, int] = {}
    for case_id, physician_id, state in session.execute(_OFFERS_SO_FAR, {"cases": [c.id for c in cases]}):
        offers[case_id] = offers.get(case_id, 0) + 1
        if state in TURNED_DOWN:
            excluded.setdefault(case_id, set()).add(physician_id)
    centres: dict[int, Point] = {}
    result = []
    for case, lat, lon, town_lat, town_lon, town in rows:
        if lat is not None:
            location = Point(lat, lon)
        elif town_lat is not None:
            location = Point(town_lat, town_lon)
        else:
            if case.programme_id not in centres:
                centres[case.programme_id] = area_centre(session, case.programme_id)
            location = centres[case.programme_id]
        view = WaitingCase(
            case_id=case.id,
            urgency=case.urgency or case.provisional_urgency or Urgency.yellow,
            location=location,
            municipality_id=case.municipality_id,
            waiting_since=case.decided_at or case.called_at,
            excluded=frozenset(excluded.get(case.id, ())),
        )
        result.append(Waiting(case, view, offers.get(case.id, 0), town))
    return result


def whereabouts_columns() -> tuple[ScalarSelect, ScalarSelect, ScalarSelect]:
    """For a statement over `Physician`: their latest arrival at a patient, and where that was (lat, lon)."""
    holder = Physician.id
    last_arrived = select(func.max(Case.arrived_at)).where(Case.assigned_physician_id == holder)
    last_place = (
        select(Patient.latitude, Patient.longitude)
        .join(Case, Case.patient_id == Patient.id)
        .where(Case.assigned_physician_id == holder, Case.arrived_at.is_not(None))
        .order_by(Case.arrived_at.desc())
        .limit(1)
    )
    return (
        last_arrived.scalar_subquery(),
        last_place.with_only_columns(Patient.latitude).scalar_subquery(),
        last_place.with_only_columns(Patient.longitude).scalar_subquery(),
    )


def whereabouts(
    at: datetime, base: Point | None, worked_at: datetime | None, lat: float | None, lon: float | None
) -> Point | None:
    """Where a physician sets off from: their last visit if it was tonight, else their base."""
    # A visit from another night says nothing about where they are now.
    recent = worked_at is not None and at - worked_at <= LAST_VISIT_COUNTS_FOR
    return Point(lat, lon) if recent and lat is not None and lon is not None else base


@functools.cache
def _available_select(by_town: bool) -> Select:
    """The statement behind `available_physicians`, built once (building it cost more than running it);
    bound at execution to `at` and, when `by_town`, to the `towns`."""
    holder = Physician.id
    active_case = select(Case.id).where(
        Case.assigned_physician_id == holder, Case.state.in_(ACTIVE_VISIT_STATES)
    )
    pending_offer = select(Offer.id).where(Offer.physician_id == holder, Offer.state == OfferState.pending)
    towns: BindParameter[list[int]] | None = bindparam("towns", expanding=True) if by_town else None
    return (
        on_call_select(bindparam("at"), towns)
        .add_columns(
            holder,
            Physician.phone_e164,
            Physician.base_latitude,
            Physician.base_longitude,
            *whereabouts_columns(),
        )
        .where(
            Physician.phone_e164.is_not(None),  # an offer could not reach them: the roster should be fixed
            ~active_case.exists(),
            ~pending_offer.exists(),
        )
    )


def available_physicians(
    session: Session, at: datetime, municipality_ids: set[int] | None = None
) -> tuple[list[AvailablePhysician], dict[int, str]]:
    """On call now, not holding an active case, not waiting on another offer; with `municipality_ids`,
    only those covering one of them (and each with just those towns: all a round needs). With them, each
    one's phone, for the offer.

    One query: the roster's rows for `at`, with each holder's base, latest arrival at a patient and where
    that was; the busy and the phoneless are left out in SQL."""
    params: dict[str, object] = {"at": at}
    if municipality_ids is not None:
        params["towns"] = sorted(municipality_ids)
    rows = session.execute(_available_select(municipality_ids is not None), params)
    found: dict[int, tuple[set[int], Point | None, datetime | None]] = {}
    phones: dict[int, str] = {}
    for *_slot, town, physician_id, phone, base_lat, base_lon, worked_at, lat, lon in rows:
        if physician_id not in found:
            base = Point(base_lat, base_lon) if base_lat else None
            found[physician_id] = (set(), whereabouts(at, base, worked_at, lat, lon), worked_at)
            phones[physician_id] = phone
        if town is not None:
            found[physician_id][0].add(town)
    result = [
        AvailablePhysician(physician_id, location, frozenset(towns), worked_at)
        for physician_id, (towns, location, worked_at) in found.items()
        if location is not None  # nowhere to measure from: the roster needs the physician's base
    ]
    return sorted(result, key=lambda p: p.physician_id), phones
