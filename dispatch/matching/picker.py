"""The coordinator's picker: who could take a case now (on shift for its town first, then those on call in a
neighbouring area, marked with it, then the rest), how far each is from the patient, whether they are free;
and why automatic offering stopped for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.cases.models import Case
from dispatch.cases.states import AWAITING_PHYSICIAN
from dispatch.matching.areas import CaseArea, case_area
from dispatch.matching.candidates import TURNED_DOWN as TURNED_DOWN_OFFERS
from dispatch.matching.candidates import area_centre
from dispatch.matching.roster_now import RosterNow, roster_now
from dispatch.matching.travel import Point, TravelEstimate
from dispatch.matching.whereabouts import last_visits, whereabouts
from dispatch.offers.models import Offer, OfferState
from dispatch.patients.models import Patient
from dispatch.programme.models import Municipality
from dispatch.roster.models import Physician


class Status(StrEnum):
    """Where a physician stands for this case."""

    assigned = "assigned"  # holds this case
    offered = "offered"  # answering an offer for this case
    free = "free"
    busy = "busy"  # holds another case
    offered_elsewhere = "offered_elsewhere"  # answering an offer for another case
    declined = "declined"  # on this case
    timed_out = "timed_out"  # on this case
    failed = "failed"  # the offer SMS for this case could not be delivered


TURNED_DOWN = {Status.declined, Status.timed_out, Status.failed}


class StopReason(StrEnum):
    nobody_on_call = "nobody_on_call"
    all_turned_down = "all_turned_down"
    all_busy = "all_busy"
    unreachable = "unreachable"  # on call and free, but no mobile number or no base on the roster
    offer_limit = "offer_limit"  # the escalation policy's number of unanswered offers


@dataclass(frozen=True)
class Candidate:
    physician_id: int
    name: str
    phone_e164: str | None
    on_shift: bool
    covers_town: bool  # on shift for the case's municipality (any, for a case of no known town)
    shift_until: datetime | None
    travel_min: int | None  # from their last visit tonight, else their base; None: no base on the roster
    status: Status
    other_case_id: int | None  # the case they hold or are offered, when it is another
    # On call in a neighbouring area (広域連携), not for the case's town: that area's name.
    area: str | None = None


@dataclass(frozen=True)
class OfferingStopped:
    reason_code: StopReason
    detail: str  # in Japanese, as the coordinator's SMS says it
    municipality: str | None = None
    count: int | None = None


@dataclass(frozen=True)
class Picker:
    case: Case
    municipality: str | None
    candidates: list[Candidate]
    offering_stopped: OfferingStopped | None


def _patient_point(session: Session, case: Case) -> tuple[Point, str | None]:
    """Where the patient is (their position, or their town's reference point), and the town's name."""
    lat, lon, town_lat, town_lon, town = session.execute(
        select(
            Patient.latitude,
            Patient.longitude,
            Municipality.latitude,
            Municipality.longitude,
            Municipality.name,
        )
        .select_from(Case)
        .outerjoin(Patient, Patient.id == Case.patient_id)
        .outerjoin(Municipality, Municipality.id == Case.municipality_id)
        .where(Case.id == case.id)
    ).one()
    if lat is not None and lon is not None:
        return Point(lat, lon), town
    if town_lat is not None:
        return Point(town_lat, town_lon), town
    return area_centre(session, case.programme_id), town


def _status(
    physician_id: int,
    case_id: int,
    turned_down: dict[int, OfferState],
    held: dict[int, int],
    pending: dict[int, int],
) -> tuple[Status, int | None]:
    """The physician's status for this case, and the other case they are on, if any."""
    other = held.get(physician_id) or pending.get(physician_id)
    other = other if other != case_id else None
    if held.get(physician_id) == case_id:
        return Status.assigned, None
    if pending.get(physician_id) == case_id:
        return Status.offered, other
    if physician_id in turned_down:
        return Status(turned_down[physician_id].value), other
    if physician_id in held:
        return Status.busy, other
    if physician_id in pending:
        return Status.offered_elsewhere, other
    return Status.free, None


def candidates(
    session: Session,
    case: Case,
    now: datetime,
    estimate: TravelEstimate,
    patient: Point,
    area: CaseArea,
    roster: RosterNow | None = None,
    on_call_only: bool = False,
) -> list[Candidate]:
    """Every active substitute physician for this case (at `patient`): on shift for its town first, then on call
    in a neighbouring area (marked with it), then on shift elsewhere, then off shift; within each, the free
    ones nearest first. `roster`: the roster read once for many cases; `on_call_only`: only those on shift for
    its town or a neighbouring area's (all that why offering stopped needs)."""
    roster = roster or roster_now(session, now)
    shifts, held, pending, worked = roster.shifts, roster.held, roster.pending, roster.worked
    neighbours = area.neighbours
    town_area = {town: a for town, a in roster.town_area.items() if a in neighbours}
    # As matching sees it: whoever turned this case down once is not offered it again.
    turned_down = {
        physician: state
        for physician, state in session.execute(
            select(Offer.physician_id, Offer.state)
            .where(Offer.case_id == case.id, Offer.state.in_(TURNED_DOWN_OFFERS))
            .order_by(Offer.id)
        )
    }
    rows = roster.physicians
    if on_call_only:
        wanted = roster.on_call_for(case.municipality_id, frozenset(neighbours))
        rows = [row for row in rows if row[0] in wanted]
    result = []
    case_id, case_town = case.id, case.municipality_id  # read once: a row's attributes cost a call each
    for physician_id, name, phone, base_lat, base_lon in rows:
        base = Point(base_lat, base_lon) if base_lat is not None and base_lon is not None else None
        where = whereabouts(now, base, worked.get(physician_id))
        towns, until = shifts.get(physician_id, (set(), None))
        on_shift = physician_id in shifts
        covers = on_shift and (case_town is None or case_town in towns)
        backing = sorted({town_area[t] for t in towns if t in town_area}) if not covers else []
        status, other = _status(physician_id, case_id, turned_down, held, pending)
        result.append(
            Candidate(
                physician_id=physician_id,
                name=name,
                phone_e164=phone,
                on_shift=on_shift,
                covers_town=covers,
                shift_until=until,
                travel_min=round(estimate(where, patient)) if where is not None else None,
                status=status,
                other_case_id=other,
                area=neighbours[backing[0]] if backing else None,
            )
        )

    def order(c: Candidate) -> tuple:
        group = 0 if c.covers_town else 1 if c.area else 2 if c.on_shift else 3
        ready = c.status in (Status.assigned, Status.offered, Status.free)
        return (group, not ready, c.travel_min if c.travel_min is not None else 10**6, c.name)

    return sorted(result, key=order)


def offering_stopped(
    case: Case, town: str | None, found: list[Candidate], backup_cap: int | None = None
) -> OfferingStopped | None:
    """Why automatic offering stopped for a case waiting for a physician (None: it goes on), from who is on
    shift for its town (and, with `backup_cap`, on call in a neighbouring area within that many minutes) and
    how each stands."""
    if case.state not in AWAITING_PHYSICIAN:
        return None

    def backs_up(c: Candidate) -> bool:
        return (
            backup_cap is not None
            and c.area is not None
            and c.travel_min is not None
            and c.travel_min <= backup_cap
        )

    on_call = [c for c in found if c.covers_town or backs_up(c)]
    if not on_call:
        where = f"（{town}）" if town else ""
        return OfferingStopped(StopReason.nobody_on_call, f"当番の代診医がいません{where}", municipality=town)
    if not any(c.status in (Status.assigned, Status.offered) for c in on_call):
        left = [c for c in on_call if c.status not in TURNED_DOWN]
        if not left:
            n = len(on_call)
            return OfferingStopped(
                StopReason.all_turned_down, f"候補の代診医が全員辞退・時間切れ（{n}名）", count=n
            )
        free = [c for c in left if c.status is Status.free]
        if not free:
            return OfferingStopped(StopReason.all_busy, "全員が他の案件を担当中", count=len(left))
        if not any(c.phone_e164 and c.travel_min is not None for c in free):
            return OfferingStopped(
                StopReason.unreachable, "当番の代診医に携帯番号か拠点の登録がありません", count=len(free)
            )
    return None


def limit_reached(case: Case, session: Session) -> OfferingStopped | None:
    """The escalation policy's limit: the coordinator was alerted after this many unanswered offers."""
    limit = int(case.escalation_policy.get("offers_before_coordinator_alert", 0) or 0)
    ended = session.scalar(
        select(Offer.id)
        .where(Offer.case_id == case.id, Offer.state != OfferState.pending)
        .order_by(Offer.id)
        .offset(limit - 1)
        .limit(1)
    )
    if not case.alarm or limit < 1 or ended is None:
        return None
    return OfferingStopped(StopReason.offer_limit, f"依頼回数の上限（{limit}回）に達しました", count=limit)


def picker(
    session: Session,
    case: Case,
    now: datetime,
    estimate: TravelEstimate,
    *,
    cross_area: bool = True,
    roster: RosterNow | None = None,
) -> Picker:
    """The picker for one case, with why automatic offering stopped (or the alarm's limit, while it goes on);
    `cross_area`: whether neighbouring areas' physicians back it up automatically (the setting). With
    `roster` (a matching round's, read once), only those on call for it are listed: all the reason needs."""
    patient, town = _patient_point(session, case)
    area = case_area(session, case)
    found = candidates(session, case, now, estimate, patient, area, roster, on_call_only=roster is not None)
    stopped = offering_stopped(case, town, found, area.cap_min if cross_area else None) or (
        limit_reached(case, session) if case.state in AWAITING_PHYSICIAN else None
    )
    return Picker(case, town, found, stopped)


def travel_min_for(
    session: Session, case: Case, physician_id: int, now: datetime, estimate: TravelEstimate
) -> float | None:
    """Minutes from where the physician is (tonight's last visit, else their base) to the patient; None if
    the roster knows neither."""
    patient, _town = _patient_point(session, case)
    row = session.execute(
        select(Physician.base_latitude, Physician.base_longitude).where(Physician.id == physician_id)
    ).one_or_none()
    if row is None:
        return None
    base_lat, base_lon = row
    base = Point(base_lat, base_lon) if base_lat is not None and base_lon is not None else None
    where = whereabouts(now, base, last_visits(session, now, [physician_id]).get(physician_id))
    return estimate(where, patient) if where is not None else None
