"""Demo data on top of the reference programme: roster, shifts, a few fictional patients, a user per role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.auth.models import Role, User
from dispatch.auth.passwords import Passwords
from dispatch.auth.service import create_user
from dispatch.clinics.models import Clinic, ContractPeriod
from dispatch.clock import Clock
from dispatch.hospitals.models import BedReport, Hospital
from dispatch.hospitals.service import night_of
from dispatch.patients.models import Enrolment, Patient, Sex
from dispatch.phones import to_e164
from dispatch.programme.models import MedicalArea, Municipality, Programme
from dispatch.programme.service import current_service_hours_rule
from dispatch.programme.service_hours import SATURDAY, is_day_off
from dispatch.roster.models import Physician, PhysicianRole, Shift
from dispatch.roster.physicians import based_at
from dispatch.seed.reference import load_programme_data, month_start, seed_reference


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: Role


def night_shift_window(day: date, rule: dict[str, Any], tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The on-call window that starts on `day` under the programme's hours (ends 08:00 next day)."""
    until = time.fromisoformat(rule["weekday_until"])
    if is_day_off(day, rule):
        start = until
    elif day.weekday() == SATURDAY:
        start = time.fromisoformat(rule["saturday_from"])
    else:
        start = time.fromisoformat(rule["weekday_from"])
    return (
        datetime.combine(day, start, tz),
        datetime.combine(day + timedelta(days=1), until, tz),
    )


def _demo_shifts(
    session: Session,
    programme: Programme,
    physicians: dict[str, tuple[Physician, dict]],
    municipalities: dict[str, Municipality],
    clock: Clock,
    demo: dict[str, Any],
) -> None:
    tz = ZoneInfo(programme.timezone)
    rule = current_service_hours_rule(session, programme.id, clock.now()).definition
    today = clock.now().astimezone(tz).date()
    days = [today + timedelta(days=n) for n in range(-demo["shift_days_before"], demo["shift_days_after"] + 1)]
    for physician, spec in physicians.values():
        if physician.role is not PhysicianRole.substitute:
            continue
        have = set(session.scalars(select(Shift.starts_at).where(Shift.physician_id == physician.id)))
        for day in days:
            if spec.get("pattern") == "all_day":
                starts = datetime.combine(day, time(8, 0), tz)
                window = (starts, starts + timedelta(days=1))
            else:
                window = night_shift_window(day, rule, tz)
            if window[0] in have:
                continue
            shift = Shift(physician_id=physician.id, starts_at=window[0], ends_at=window[1], note="demo")
            shift.coverage = [municipalities[code] for code in spec["coverage"]]
            session.add(shift)


def _demo_hospitals(session: Session, programme: Programme, clock: Clock, demo: dict[str, Any]) -> None:
    """The hospitals' night desks, and tonight's free backup beds where the demo names them (unless marked)."""
    hospitals = {
        h.name: h for h in session.scalars(select(Hospital).where(Hospital.programme_id == programme.id))
    }
    for name, phone in demo.get("hospital_night_phones", {}).items():
        hospitals[name].night_phone = hospitals[name].night_phone or to_e164(phone)
    night = night_of(session, programme, clock.now())
    for name, free in demo.get("tonight_free_beds", {}).items():
        hospital_id = hospitals[name].id
        marked = select(BedReport.id).where(BedReport.hospital_id == hospital_id, BedReport.night == night)
        if session.scalar(marked) is not None:
            continue
        session.add(
            BedReport(
                hospital_id=hospital_id,
                night=night,
                free=free,
                reported_by="seed:demo",
                reported_at=clock.now(),
            )
        )


def seed_demo(
    session: Session, data: dict[str, Any], clock: Clock, passwords: Passwords, patients: bool = True
) -> list[DemoLogin]:
    """Load the reference programme and the demo data; running it again adds only what is missing."""
    programme = seed_reference(session, data)
    demo = data["demo"]
    municipalities = {m.code: m for m in session.scalars(select(Municipality))}
    clinics = {c.label: c for c in session.scalars(select(Clinic).where(Clinic.programme_id == programme.id))}

    for label, phone in demo.get("handoff_phones", {}).items():
        clinics[label].handoff_phone = clinics[label].handoff_phone or to_e164(phone)
    continued = month_start(demo["continue_contracts_from"])
    for clinic in clinics.values():
        starts = {p.start_month for p in clinic.contract_periods}
        if continued not in starts:
            session.add(ContractPeriod(clinic_id=clinic.id, start_month=continued, end_month=None))

    physicians: dict[str, tuple[Physician, dict]] = {}
    for spec in demo["physicians"]:
        phone = to_e164(spec["phone"]) if spec.get("phone") else None
        physician = session.scalar(select(Physician).where(Physician.name == spec["name"]))
        if physician is None:
            clinic_id = clinics[spec["clinic"]].id if spec.get("clinic") else None
            base = municipalities.get(spec.get("base", ""))
            physician = based_at(spec["name"], PhysicianRole(spec["role"]), phone, clinic_id, base)
            session.add(physician)
            session.flush()
        physicians[spec["key"]] = (physician, spec)
    _demo_shifts(session, programme, physicians, municipalities, clock, demo)
    _demo_hospitals(session, programme, clock, demo)

    for spec in demo["patients"] if patients else []:
        clinic = clinics[spec["clinic"]]
        if session.scalar(
            select(Enrolment.id).where(
                Enrolment.clinic_id == clinic.id, Enrolment.clinic_patient_number == spec["number"]
            )
        ):
            continue
        town = municipalities[spec["municipality"]]
        patient = Patient(
            family_name=spec["family_name"],
            given_name=spec["given_name"],
            family_name_kana=spec["family_name_kana"],
            given_name_kana=spec["given_name_kana"],
            date_of_birth=date.fromisoformat(spec["date_of_birth"]),
            sex=Sex(spec["sex"]),
            household_phone_e164=to_e164(spec["phone"]),
            address=spec["address"],
            municipality_id=town.id,
            latitude=town.latitude,
            longitude=town.longitude,
            diagnoses=spec["diagnoses"],
            acp=spec["acp"],
            devices=spec["devices"],
            key_person=spec["key_person"],
        )
        session.add(patient)
        session.flush()
        attending = physicians[spec["attending"]][0] if spec.get("attending") else None
        enrolled_on = max(clinic.contract_periods[0].start_month, date(2024, 4, 1))
        session.add(
            Enrolment(
                patient_id=patient.id,
                clinic_id=clinic.id,
                clinic_patient_number=spec["number"],
                attending_physician_id=attending.id if attending else None,
                enrolled_on=enrolled_on,
                consent_given=True,
                consent_at=datetime.combine(enrolled_on, time(10, 0), ZoneInfo(programme.timezone)),
                consent_by="本人",
            )
        )

    logins = []
    for spec in demo["users"]:
        password = spec["username"] + demo["password_suffix"]
        role = Role(spec["role"])
        logins.append(DemoLogin(spec["username"], password, role))
        if session.scalar(select(User.id).where(User.username == spec["username"])):
            continue
        user = create_user(
            session,
            passwords,
            clock,
            username=spec["username"],
            password=password,
            display_name=spec["display_name"],
            role=role,
            clinic_id=clinics[spec["clinic"]].id if spec.get("clinic") else None,
            physician_id=physicians[spec["physician"]][0].id if spec.get("physician") else None,
        )
        if spec.get("area"):  # an area coordinator
            user.area_id = session.scalar(select(MedicalArea.id).where(MedicalArea.code == spec["area"]))
    session.flush()
    return logins


def seed_demo_areas(
    session: Session, data: dict[str, Any], clock: Clock, passwords: Passwords, patients: bool = True
) -> list[DemoLogin]:
    """`seed_demo` for the programme in `data`, then for the demo's other areas (広域連携) it names."""
    logins = seed_demo(session, data, clock, passwords, patients)
    for code in data["demo"].get("neighbour_programmes", []):
        logins += seed_demo(session, load_programme_data(code), clock, passwords, patients)
    return logins
