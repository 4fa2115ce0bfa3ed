"""Reading clinics, scoped to what the user may see."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dispatch.areas.scope import in_users_area
from dispatch.auth.models import Role, User
from dispatch.clinics.models import Clinic, ContractPeriod
from dispatch.clinics.schemas import ClinicIn
from dispatch.phones import InvalidPhoneNumber, to_e164
from dispatch.programme.models import Municipality
from dispatch.programme.periods import month_start


def visible_clinics(session: Session, user: User) -> list[Clinic]:
    """All clinics, or only their own for a clinic admin, their area's for an area coordinator."""
    query = select(Clinic).options(selectinload(Clinic.contract_periods)).order_by(Clinic.label)
    query = in_users_area(query, user, Clinic.programme_id)
    if user.role is Role.clinic_admin:
        query = query.where(Clinic.id == user.clinic_id)
    return list(session.scalars(query))


class ClinicRejected(ValueError):
    """A clinic or contract that cannot be; the message names the field."""


def _month(field: str, text: str) -> date:
    try:
        return month_start(text)
    except ValueError as exc:
        raise ClinicRejected(f"{field}: {exc}") from None


def add_contract(session: Session, clinic: Clinic, start: str, end: str | None) -> ContractPeriod:
    """A contract period from `start` (YYYY-MM) to `end` (inclusive, open if None); no overlaps."""
    first = _month("start_month", start)
    last = _month("end_month", end) if end else None
    if last is not None and last < first:
        raise ClinicRejected("end_month: must not be before start_month")
    for period in clinic.contract_periods:
        if (last is None or period.start_month <= last) and (
            period.end_month is None or period.end_month >= first
        ):
            raise ClinicRejected("start_month: overlaps an existing contract period")
    period = ContractPeriod(clinic_id=clinic.id, start_month=first, end_month=last)
    session.add(period)
    session.flush()
    session.refresh(clinic)
    return period


def add_clinic(session: Session, programme_id: int, data: ClinicIn) -> Clinic:
    """A clinic joins the programme, with its contract periods."""
    if session.scalar(select(Clinic.id).where(Clinic.programme_id == programme_id, Clinic.label == data.label)):
        raise ClinicRejected(f"label: a clinic called {data.label!r} already exists")
    if data.municipality_id is not None and session.get(Municipality, data.municipality_id) is None:
        raise ClinicRejected(f"municipality_id: no municipality {data.municipality_id}")
    try:
        phone = to_e164(data.handoff_phone) if data.handoff_phone else None
    except InvalidPhoneNumber as exc:
        raise ClinicRejected(f"handoff_phone: {exc}") from None
    clinic = Clinic(
        programme_id=programme_id,
        label=data.label,
        kind=data.kind,
        municipality_id=data.municipality_id,
        handoff_phone=phone,
        newly_started_house_calls=data.newly_started_house_calls,
    )
    session.add(clinic)
    session.flush()
    for period in data.contract_periods:
        add_contract(session, clinic, period.start_month, period.end_month)
    return clinic
