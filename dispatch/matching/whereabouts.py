"""Where a physician sets off from (their base, or the patient they last reached tonight) and when they last
worked (rest breaks ties): read from the day's arrivals, one indexed range for every physician at once."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from dispatch.cases.models import Case
from dispatch.db import plan_for_these_values
from dispatch.matching.travel import Point
from dispatch.patients.models import Patient

# A visit from another night says nothing about where they are now.
LAST_VISIT_COUNTS_FOR = timedelta(hours=8)
# Rest is tonight's: who worked a day ago or earlier is as rested as who never did.
REST_COUNTS_FOR = timedelta(hours=24)

# Each physician's arrivals since `since`, newest first (`nth` 1: the latest).
ARRIVALS_RANKED = (
    select(
        Case.assigned_physician_id,
        Case.arrived_at,
        Case.patient_id,
        func.row_number()
        .over(partition_by=Case.assigned_physician_id, order_by=Case.arrived_at.desc())
        .label("nth"),
    )
    .where(Case.arrived_at >= bindparam("since"), Case.assigned_physician_id.is_not(None))
    .subquery()
)
# Each physician's latest arrival in the window (one row each), and the patient's position.
_ARRIVALS = (
    select(
        ARRIVALS_RANKED.c.assigned_physician_id,
        ARRIVALS_RANKED.c.arrived_at,
        Patient.latitude,
        Patient.longitude,
    )
    .outerjoin(Patient, Patient.id == ARRIVALS_RANKED.c.patient_id)
    .where(ARRIVALS_RANKED.c.nth == 1)
)


class LastVisit(NamedTuple):
    arrived_at: datetime
    latitude: float | None  # the patient's position (None: not known)
    longitude: float | None


def last_visits(
    session: Session, at: datetime, physician_ids: Collection[int] | None = None
) -> dict[int, LastVisit]:
    """Each physician's latest arrival at a patient in the day before `at`, and where (only those of
    `physician_ids`, when given)."""
    plan_for_these_values(session)
    query = _ARRIVALS
    if physician_ids is not None:
        query = query.where(ARRIVALS_RANKED.c.assigned_physician_id.in_(physician_ids))
    rows = session.execute(query, {"since": at - REST_COUNTS_FOR})
    return {physician_id: LastVisit(arrived_at, lat, lon) for physician_id, arrived_at, lat, lon in rows}


def whereabouts(at: datetime, base: Point | None, last: LastVisit | None) -> Point | None:
    """Where a physician sets off from: their last visit if it was tonight, else their base."""
    if last is None or last.latitude is None or last.longitude is None:
        return base
    return Point(last.latitude, last.longitude) if at - last.arrived_at <= LAST_VISIT_COUNTS_FOR else base
