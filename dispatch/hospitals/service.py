"""Hospitals, tonight's backup beds (the latest mark of a night wins), and a transport's destination."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.audit import service as audit
from dispatch.auth.models import User
from dispatch.clock import Clock
from dispatch.hospitals.models import BedReport, Hospital
from dispatch.hospitals.schemas import HospitalChange, HospitalIn, HospitalOut, TonightOut
from dispatch.phones import InvalidPhoneNumber, to_e164
from dispatch.programme.models import Municipality, Programme
from dispatch.programme.service import current_service_hours_rule

NIGHT_ENDS = "08:00"  # when no service-hours rule says otherwise


class HospitalRejected(ValueError):
    """A hospital, a mark or a destination that cannot be; the message names the field."""


def night_of(session: Session, programme: Programme, at: datetime) -> date:
    """The night `at` belongs to, by the local date it starts on: 02:00 on the 16th is the night of the 15th."""
    rule = current_service_hours_rule(session, programme.id, at).definition
    hours, minutes = (int(p) for p in str(rule.get("weekday_until", NIGHT_ENDS)).split(":"))
    local = at.astimezone(ZoneInfo(programme.timezone))
    return (local - timedelta(hours=hours, minutes=minutes)).date()


def hospitals(session: Session, programme_id: int, *, active_only: bool = False) -> list[Hospital]:
    """The programme's hospitals, 後方支援病院 first, then by name."""
    query = select(Hospital).where(Hospital.programme_id == programme_id)
    if active_only:
        query = query.where(Hospital.active.is_(True))
    return list(session.scalars(query.order_by(Hospital.backup_support.desc(), Hospital.name)))


def _check(session: Session, programme_id: int, hospital: Hospital) -> None:
    clash = select(Hospital.id).where(Hospital.programme_id == programme_id, Hospital.name == hospital.name)
    if hospital.id is not None:
        clash = clash.where(Hospital.id != hospital.id)
    if session.scalar(clash) is not None:
        raise HospitalRejected(f"name: a hospital called {hospital.name!r} already exists")
    if hospital.municipality_id is not None and session.get(Municipality, hospital.municipality_id) is None:
        raise HospitalRejected(f"municipality_id: no municipality {hospital.municipality_id}")
    hospital.night_phone = hospital.night_phone or None
    if hospital.night_phone:
        try:
            hospital.night_phone = to_e164(hospital.night_phone)
        except InvalidPhoneNumber as exc:
            raise HospitalRejected(f"night_phone: {exc}") from None


def add_hospital(session: Session, clock: Clock, user: User, programme_id: int, data: HospitalIn) -> Hospital:
    """A hospital joins the programme's list (audited)."""
    hospital = Hospital(programme_id=programme_id, **data.model_dump())
    _check(session, programme_id, hospital)
    session.add(hospital)
    session.flush()
    audit.record(session, clock, user, "hospital.add", detail={"hospital_id": hospital.id})
    return hospital


def change_hospital(
    session: Session, clock: Clock, user: User, hospital: Hospital, data: HospitalChange
) -> Hospital:
    """Change the fields sent (audited); name, kind, beds and active may not be emptied."""
    changes = data.model_dump(exclude_unset=True)
    for field in ("name", "backup_support", "backup_beds", "active"):
        if field in changes and changes[field] is None:
            raise HospitalRejected(f"{field}: may not be empty")
    with session.no_autoflush:
        for field, value in changes.items():
            setattr(hospital, field, value)
        _check(session, hospital.programme_id, hospital)
    session.flush()
    audit.record(
        session, clock, user, "hospital.change", detail={"hospital_id": hospital.id, "fields": sorted(changes)}
    )
    return hospital


def _latest(session: Session, hospital_ids: list[int], night: date) -> dict[int, BedReport]:
    reports = session.scalars(
        select(BedReport)
        .where(BedReport.hospital_id.in_(hospital_ids), BedReport.night == night)
        .order_by(BedReport.reported_at, BedReport.id)
    )
    return {report.hospital_id: report for report in reports}  # the latest of the night wins


def tonight(session: Session, clock: Clock, programme: Programme) -> list[TonightOut]:
    """Active hospitals holding backup beds, with tonight's free ones (null where nobody has marked them)."""
    night = night_of(session, programme, clock.now())
    listed = [h for h in hospitals(session, programme.id, active_only=True) if h.backup_beds > 0]
    latest = _latest(session, [h.id for h in listed], night)
    rows = []
    for hospital in listed:
        report = latest.get(hospital.id)
        rows.append(
            TonightOut(
                **HospitalOut.model_validate(hospital).model_dump(),
                night=night,
                free=report.free if report else None,
                note=report.note if report else None,
                updated_at=report.reported_at if report else None,
                updated_by=report.reported_by if report else None,
            )
        )
    return rows


def mark_beds(
    session: Session, clock: Clock, user: User, hospital: Hospital, *, free: int, note: str | None
) -> BedReport:
    """Mark how many of the hospital's backup beds are free tonight (kept beside earlier marks; audited)."""
    if free > hospital.backup_beds:
        raise HospitalRejected(f"free: {hospital.name} holds only {hospital.backup_beds} backup beds")
    programme = session.get_one(Programme, hospital.programme_id)
    now = clock.now()
    report = BedReport(
        hospital_id=hospital.id,
        night=night_of(session, programme, now),
        free=free,
        note=note or None,
        reported_by=f"user:{user.username}",
        reported_by_user_id=user.id,
        reported_at=now,
    )
    session.add(report)
    session.flush()
    detail = {"hospital_id": hospital.id, "night": report.night.isoformat(), "free": free}
    audit.record(session, clock, user, "hospital.beds.mark", detail=detail)
    return report


def history(session: Session, hospital_id: int, limit: int = 60) -> list[BedReport]:
    """The hospital's marks, newest first."""
    query = select(BedReport).where(BedReport.hospital_id == hospital_id)
    return list(session.scalars(query.order_by(BedReport.reported_at.desc(), BedReport.id.desc()).limit(limit)))


def destination(session: Session, hospital_id: int) -> Hospital:
    """The hospital a patient is transported to; an unknown id is refused naming the field."""
    hospital = session.get(Hospital, hospital_id)
    if hospital is None:
        raise HospitalRejected(f"destination_hospital_id: no hospital {hospital_id}")
    return hospital


def take_bed(
    session: Session, clock: Clock, hospital: Hospital, *, by: str, reference: str
) -> BedReport | None:
    """A transport there takes one of tonight's free backup beds: a new mark one lower, if any was free."""
    hospital = session.get_one(Hospital, hospital.id, with_for_update=True)
    programme = session.get_one(Programme, hospital.programme_id)
    now = clock.now()
    night = night_of(session, programme, now)
    latest = _latest(session, [hospital.id], night).get(hospital.id)
    if latest is None or latest.free == 0:
        return None
    report = BedReport(
        hospital_id=hospital.id,
        night=night,
        free=latest.free - 1,
        note=f"#{reference} 搬送",
        reported_by=by,
        reported_at=now,
    )
    session.add(report)
    session.flush()
    return report
