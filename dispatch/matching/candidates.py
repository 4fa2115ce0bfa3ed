"""From the database to the policy's inputs: the cases waiting for a physician and who is free."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.cases.models import Case
from dispatch.cases.states import ACTIVE_VISIT_STATES, CaseState, Urgency
from dispatch.matching.policy import AvailablePhysician, WaitingCase
from dispatch.matching.travel import Point, StraightLineEstimate
from dispatch.offers.models import Offer, OfferState
from dispatch.patients.models import Patient
from dispatch.programme.models import MedicalArea, Municipality, Programme
from dispatch.roster.models import Physician
from dispatch.roster.service import on_call

WAITING_STATES = (CaseState.dispatching, CaseState.unfilled)
TURNED_DOWN = (OfferState.declined, OfferState.timed_out, OfferState.failed)
LAST_VISIT_COUNTS_FOR = timedelta(hours=8)


def estimator_for(session: Session, programme: Programme) -> StraightLineEstimate:
    """The programme area's travel-time estimate."""
    area = session.get(MedicalArea, programme.area_id)
    return StraightLineEstimate(road_factor=area.road_factor, speed_kmh=area.travel_speed_kmh)


def _centre(session: Session) -> Point:
    lat, lon = session.execute(select(func.avg(Municipality.latitude), func.avg(Municipality.longitude))).one()
    return Point(lat, lon)


def waiting_cases(session: Session, case_ids: list[int] | None = None) -> list[tuple[Case, WaitingCase]]:
    """Cases that need a physician and have no offer out."""
    query = select(Case).where(Case.state.in_(WAITING_STATES), Case.current_offer_id.is_(None))
    if case_ids is not None:
        query = query.where(Case.id.in_(case_ids))
    cases = list(session.scalars(query.order_by(Case.id)))
    if not cases:
        return []
    excluded: dict[int, set[int]] = {}
    for case_id, physician_id in session.execute(
        select(Offer.case_id, Offer.physician_id).where(
            Offer.case_id.in_([c.id for c in cases]), Offer.state.in_(TURNED_DOWN)
        )
    ):
        excluded.setdefault(case_id, set()).add(physician_id)
    towns = {m.id: m for m in session.scalars(select(Municipality))}
    centre = None
    result = []
    for case in cases:
        patient = session.get(Patient, case.patient_id) if case.patient_id else None
        if patient is not None and patient.latitude is not None:
            location = Point(patient.latitude, patient.longitude)
        elif case.municipality_id in towns:
            town = towns[case.municipality_id]
            location = Point(town.latitude, town.longitude)
        else:
            centre = centre or _centre(session)
            location = centre
        result.append(
            (
                case,
                WaitingCase(
                    case_id=case.id,
                    urgency=case.urgency or case.provisional_urgency or Urgency.yellow,
                    location=location,
                    municipality_id=case.municipality_id,
                    waiting_since=case.decided_at or case.called_at,
                    excluded=frozenset(excluded.get(case.id, ())),
                ),
            )
        )
    return result


def _last_visits(session: Session, physician_ids: list[int]) -> dict[int, tuple[datetime, Point | None]]:
    """Each physician's latest arrival at a patient, and where that was."""
    rows = session.execute(
        select(Case.assigned_physician_id, Case.arrived_at, Patient.latitude, Patient.longitude)
        .outerjoin(Patient, Patient.id == Case.patient_id)
        .where(Case.assigned_physician_id.in_(physician_ids), Case.arrived_at.is_not(None))
        .order_by(Case.arrived_at)
    )
    last = {}
    for physician_id, arrived_at, lat, lon in rows:
        last[physician_id] = (arrived_at, Point(lat, lon) if lat is not None else None)
    return last


def available_physicians(session: Session, at: datetime) -> list[AvailablePhysician]:
    """On call now, not holding an active case, not waiting on another offer."""
    shifts = on_call(session, at)
    busy = set(
        session.scalars(select(Case.assigned_physician_id).where(Case.state.in_(ACTIVE_VISIT_STATES)))
    ) | set(session.scalars(select(Offer.physician_id).where(Offer.state == OfferState.pending)))
    coverage: dict[int, set[int]] = {}
    for slot in shifts:
        if slot.physician_id not in busy:
            coverage.setdefault(slot.physician_id, set()).update(slot.municipality_ids)
    if not coverage:
        return []
    # Without a phone an offer cannot reach them: not a candidate (the roster should be fixed).
    physicians = {
        p.id: p
        for p in session.scalars(
            select(Physician).where(Physician.id.in_(coverage), Physician.phone_e164.is_not(None))
        )
    }
    last = _last_visits(session, list(coverage))
    result = []
    for physician_id, towns in coverage.items():
        physician = physicians.get(physician_id)
        if physician is None:
            continue
        worked_at, where = last.get(physician_id, (None, None))
        if worked_at is not None and at - worked_at > LAST_VISIT_COUNTS_FOR:
            where = None  # a visit from another night says nothing about where they are now
        base = Point(physician.base_latitude, physician.base_longitude) if physician.base_latitude else None
        location = where or base
        if location is None:
            continue  # nowhere to measure from: the roster needs the physician's base
        result.append(AvailablePhysician(physician_id, location, frozenset(towns), worked_at))
    return sorted(result, key=lambda p: p.physician_id)
