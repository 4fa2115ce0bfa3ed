"""From the database to the policy's inputs: the cases waiting for a physician and who is free."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Select,
    String,
    bindparam,
    cast,
    func,
    select,
    union,
)
from sqlalchemy import case as when
from sqlalchemy.orm import Session, defer

from dispatch.cases.models import Case
from dispatch.cases.states import ACTIVE_VISIT_STATES, CaseState, Urgency
from dispatch.db import plan_for_these_values
from dispatch.matching.areas import AreaRules
from dispatch.matching.costs import Columns, Membership
from dispatch.matching.policy import WaitingCase
from dispatch.matching.travel import Point
from dispatch.matching.whereabouts import ARRIVALS_RANKED, LAST_VISIT_COUNTS_FOR, REST_COUNTS_FOR
from dispatch.offers.models import Offer, OfferState
from dispatch.patients.models import Patient
from dispatch.programme.models import Municipality, Programme
from dispatch.roster.models import Physician, shift_coverage
from dispatch.roster.service import on_call_select

WAITING_STATES = (CaseState.dispatching, CaseState.unfilled)
TURNED_DOWN = (OfferState.declined, OfferState.timed_out, OfferState.failed)


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
    area_id: int


# The patient's position only, not the patient: their record is not the matching's to read. Where the
# patient has none, the municipality's reference point. Built once (building cost more than running).
_WAITING = (
    select(Case, Patient.latitude, Patient.longitude)
    .add_columns(Municipality.latitude, Municipality.longitude, Municipality.name, Programme.area_id)
    .join(Programme, Programme.id == Case.programme_id)
    .outerjoin(Patient, Patient.id == Case.patient_id)
    .outerjoin(Municipality, Municipality.id == Case.municipality_id)
    .where(Case.state.in_(WAITING_STATES), Case.current_offer_id.is_(None))
    .order_by(Case.id)
    .options(defer(Case.intake), defer(Case.chief_complaint))  # what was said on the phone: not needed here
)
_OFFERS_SO_FAR = select(Offer.case_id, Offer.physician_id, Offer.state).where(
    Offer.case_id.in_(bindparam("cases", expanding=True))
)


def waiting_cases(
    session: Session, rules: dict[int, AreaRules] | None = None, cross_area: bool = False
) -> list[Waiting]:
    """Cases that need a physician and have no offer out; with `rules`, each measured by its own area's estimate
    and cap, and (`cross_area`) open to its neighbouring areas' physicians."""
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
    for case, lat, lon, town_lat, town_lon, town, area_id in rows:
        if lat is not None:
            location = Point(lat, lon)
        elif town_lat is not None:
            location = Point(town_lat, town_lon)
        else:
            if case.programme_id not in centres:
                centres[case.programme_id] = area_centre(session, case.programme_id)
            location = centres[case.programme_id]
        area = rules.get(area_id) if rules else None
        view = WaitingCase(
            case_id=case.id,
            urgency=case.urgency or case.provisional_urgency or Urgency.yellow,
            location=location,
            municipality_id=case.municipality_id,
            waiting_since=case.decided_at or case.called_at,
            excluded=frozenset(excluded.get(case.id, ())),
            estimate=area.estimate if area else None,
            cap_min=area.cap_min if area else None,
            neighbours=area.neighbours if area and cross_area else frozenset(),
        )
        result.append(Waiting(case, view, offers.get(case.id, 0), town, area_id))
    return result


@functools.cache
def _on_call_select(by_town: bool) -> Select:
    """Who is on call at `at` (for one of the `towns`, when `by_town`), one row per physician with a phone:
    their base and their towns joined into one string (a round reads thousands). Built once (building it
    cost more than running it)."""
    towns: BindParameter[list[int]] | None = bindparam("towns", expanding=True) if by_town else None
    their_towns = func.aggregate_strings(cast(shift_coverage.c.municipality_id, String), ",").label("towns")
    plain = (Physician.id, Physician.phone_e164, Physician.base_latitude, Physician.base_longitude)
    return (
        on_call_select(bindparam("at"), towns)
        .with_only_columns(*plain, their_towns, maintain_column_froms=True)
        .where(Physician.phone_e164.is_not(None))  # an offer could not reach them: the roster should be fixed
        .group_by(*plain)
        .order_by(None)
    )


@functools.cache
def _free_select(by_town: bool) -> Select:
    """`_on_call_select` less who is `busy`, each with where they set off from (`whereabouts` in SQL: the
    patient they last reached since `recent`, else their base; those with neither left out) and when they last
    worked since `since`. Who is busy comes in as ids: joined in, a wrong guess of how many are made the
    planner loop over every shift for every physician."""
    on_call = _on_call_select(by_town).subquery("on_call")
    latest = select(ARRIVALS_RANKED).where(ARRIVALS_RANKED.c.nth == 1).subquery("latest")
    tonight = (
        (latest.c.arrived_at >= bindparam("recent"))
        & Patient.latitude.is_not(None)
        & Patient.longitude.is_not(None)
    )
    lat = when((tonight, Patient.latitude), else_=on_call.c.base_latitude)
    lon = when((tonight, Patient.longitude), else_=on_call.c.base_longitude)
    return (
        select(on_call.c.id, on_call.c.phone_e164, lat, lon, latest.c.arrived_at, on_call.c.towns)
        .select_from(on_call)
        .outerjoin(latest, latest.c.assigned_physician_id == on_call.c.id)
        .outerjoin(Patient, Patient.id == latest.c.patient_id)
        .where(on_call.c.id.not_in(bindparam("busy", expanding=True)), lat.is_not(None), lon.is_not(None))
        .order_by(on_call.c.id)
    )


# Holding an active case, or answering an offer (a few hundred at most, each on its own index).
_BUSY: CompoundSelect = union(
    select(Case.assigned_physician_id).where(Case.state.in_(ACTIVE_VISIT_STATES)),
    select(Offer.physician_id).where(Offer.state == OfferState.pending),
)


def towns_for(session: Session, waiting: list[Waiting]) -> tuple[set[int] | None, dict[int, int]]:
    """The towns whose physicians on call a round may offer: each waiting case's town and every town of the
    areas that may back them up (None: every town, for a case of no known town); with each such town's area."""
    towns = {w.view.municipality_id for w in waiting}
    backing = set().union(*(w.view.neighbours for w in waiting))
    query = select(Municipality.id, Municipality.area_id)
    if None not in towns:
        query = query.where(Municipality.id.in_(towns) | Municipality.area_id.in_(backing))
    town_area = {town: area for town, area in session.execute(query)}
    return (None if None in towns else set(town_area)), town_area


def available_physicians(
    session: Session,
    at: datetime,
    municipality_ids: set[int] | None = None,
    town_area: dict[int, int] | None = None,
) -> tuple[Columns, dict[int, str]]:
    """On call now, not holding an active case, not waiting on another offer; with `municipality_ids`,
    only those covering one of them (and each with just those towns: all a round needs), with `town_area` each
    one's areas. With them, each one's phone, for the offer.

    Two queries, plain rows: who is busy, then each free holder on call at `at` with where they are now (their
    latest arrival tonight, or their base) and when they last worked (rest)."""
    plan_for_these_values(session)
    params: dict[str, object] = {
        "at": at,
        "busy": [p for p in session.scalars(_BUSY) if p is not None],
        "recent": at - LAST_VISIT_COUNTS_FOR,
        "since": at - REST_COUNTS_FOR,
    }
    if municipality_ids is not None:
        params["towns"] = sorted(municipality_ids)
    rows = session.execute(_free_select(municipality_ids is not None), params).all()
    ids, phones_of, lats, lons, worked_at, joined = (
        (list(c) for c in zip(*rows, strict=True)) if rows else ([],) * 6
    )
    towns = _towns_of([text or "" for text in joined])
    columns = Columns(ids, lats, lons, worked_at, towns, towns.mapped(town_area or {}))
    return columns, dict(zip(ids, phones_of, strict=True))


def _towns_of(joined: list[str]) -> Membership:
    """Each physician's towns, from their comma-joined ids, parsed all at once."""
    counts = np.array([text.count(",") + 1 if text else 0 for text in joined], dtype=np.int64)
    digits = ",".join(text for text in joined if text)
    keys = np.array(digits.split(","), dtype=np.int64) if digits else np.zeros(0, dtype=np.int64)
    return Membership(keys, np.repeat(np.arange(len(joined), dtype=np.int64), counts))
