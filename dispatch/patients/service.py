"""Reading a patient's care profile; every read is audited."""

from __future__ import annotations

import functools
from datetime import date
from typing import NamedTuple

from sqlalchemy import ColumnElement, Select, and_, bindparam, select
from sqlalchemy.orm import Session, aliased

from dispatch.audit import service as audit
from dispatch.auth.models import Role, User
from dispatch.auth.scope import area_scope
from dispatch.clinics.models import Clinic
from dispatch.clock import Clock
from dispatch.patients import kana
from dispatch.patients.kana_order import KanaOrder
from dispatch.patients.models import Enrolment, Patient
from dispatch.patients.schemas import CareProfileOut, EnrolmentOut, PatientIn, PatientMatch
from dispatch.phones import InvalidPhoneNumber, to_e164
from dispatch.programme.models import Municipality, Programme
from dispatch.roster.models import Physician


class PatientNotFound(LookupError):
    """No such patient, or not one this user may see."""


def care_profile(session: Session, clock: Clock, user: User, patient_id: int) -> CareProfileOut:
    """The patient's care profile, written to the audit log as read by `user`."""
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise PatientNotFound(patient_id)
    rows = session.execute(
        select(Enrolment, Clinic.label, Physician.name)
        .join(Clinic, Clinic.id == Enrolment.clinic_id)
        .outerjoin(Physician, Physician.id == Enrolment.attending_physician_id)
        .where(Enrolment.patient_id == patient_id)
        .order_by(Enrolment.enrolled_on)
    ).all()
    # A clinic admin sees only their own clinic's patients; say "not found" rather than "forbidden".
    if user.role is Role.clinic_admin and all(e.clinic_id != user.clinic_id for e, _, _ in rows):
        raise PatientNotFound(patient_id)
    audit.record(session, clock, user, "patient.care_profile.read", patient_id=patient_id)
    return CareProfileOut(
        id=patient.id,
        name=f"{patient.family_name} {patient.given_name}",
        name_kana=f"{patient.family_name_kana} {patient.given_name_kana}",
        date_of_birth=patient.date_of_birth,
        sex=patient.sex.value,
        address=patient.address,
        municipality=patient.municipality.name,
        diagnoses=patient.diagnoses,
        acp=patient.acp,
        devices=patient.devices,
        key_person=patient.key_person,
        enrolments=[
            EnrolmentOut(
                id=e.id,
                clinic_id=e.clinic_id,
                clinic_label=label,
                clinic_patient_number=e.clinic_patient_number,
                attending_physician=attending,
                enrolled_on=e.enrolled_on,
                ended_on=e.ended_on,
                ended_at=e.ended_at,
                end_reason=e.end_reason,
                ended_by_case_id=e.ended_by_case_id,
                consent_given=e.consent_given,
            )
            for e, label, attending in rows
        ],
    )


SEARCH_LIMIT = 50


def search(
    session: Session,
    clock: Clock,
    user: User,
    *,
    clinic_patient_number: str | None,
    household_phone: str | None,
    name_kana: str | None,
    date_of_birth: date | None,
) -> list[PatientMatch]:
    """Patients matching what the caller said (kana by prefix, in SQL); each match returned is audited. A
    clinic admin finds their clinic's patients only, an area coordinator those of their area's clinics."""
    wanted = kana.fold(name_kana) if name_kana else ""
    given = {
        "number": clinic_patient_number or None,
        "phone": household_phone or None,
        "born": date_of_birth,
        "pattern": kana.prefix_pattern(wanted) if wanted else None,
        "clinic": user.clinic_id if user.role is Role.clinic_admin else None,
        "area": area_scope(user),
    }
    shape = SearchShape(*(given[name] is not None for name in SearchShape._fields))
    values = {name: value for name, value in given.items() if value is not None}
    # An enrolment filter is checked for every candidate (`exact`); without one, a patient with no enrolment
    # (none is ever made so) taking a place is the one reason to ask again, the exact and slower way.
    rows = session.execute(_matches(shape, exact=shape.number or shape.clinic or shape.area), values).all()
    if any(row.enrolment_id is None for row in rows):
        rows = session.execute(_matches(shape, exact=True), values).all()
    matches = [
        PatientMatch(
            id=row.id,
            name=f"{row.family_name} {row.given_name}",
            name_kana=f"{row.family_name_kana} {row.given_name_kana}",
            date_of_birth=row.date_of_birth,
            sex=row.sex,
            clinic_id=row.clinic_id,
            clinic_label=row.label,
            clinic_patient_number=row.clinic_patient_number,
            municipality=row.name,
            enrolment_id=row.enrolment_id,
            ended_on=row.ended_on,
            end_reason=row.end_reason,
        )
        for row in rows
    ]
    # Each match returned is written as read (one entry each, in one run of the chain).
    audit.record_each(session, clock, user, "patient.search.match", patient_ids=[m.id for m in matches])
    return matches


class SearchShape(NamedTuple):
    """Which of the caller's details a search was given (each a bound parameter of the same name)."""

    number: bool  # the clinic's chart number
    phone: bool  # the household phone, E.164
    born: bool  # the date of birth
    pattern: bool  # the folded kana, as a LIKE prefix pattern
    clinic: bool  # a clinic admin's own clinic
    area: bool  # an area coordinator's area: enrolments with a clinic of its programme


_FOUND = aliased(Patient, name="found")


@functools.cache
def _matches(shape: SearchShape, *, exact: bool) -> Select:
    """The first SEARCH_LIMIT (patient, enrolment) rows in kana order (五十音順, then by id), as plain columns:
    the first patients that match, then the rows of those patients only. A kana prefix's patients come off
    the kana key's index in that order (it holds the id), so the scan stops at the limit, however many
    share the prefix (`kana_order`). Built once per shape (building it cost more than running it).

    Not `exact`, any patient may take a place, and one with no enrolment comes back with an empty one; `exact`
    looks for an enrolment (one of the filters' own) of every candidate first, which costs an index probe
    per candidate."""
    patient_filters: list[ColumnElement[bool]] = []
    enrolment_filters: list[ColumnElement[bool]] = []
    if shape.number:
        enrolment_filters.append(Enrolment.clinic_patient_number == bindparam("number"))
    if shape.phone:
        patient_filters.append(Patient.household_phone_e164 == bindparam("phone"))
    if shape.born:
        patient_filters.append(Patient.date_of_birth == bindparam("born"))
    if shape.pattern:
        patient_filters.append(Patient.name_kana_key.like(bindparam("pattern"), escape=kana.LIKE_ESCAPE))
    if shape.clinic:
        enrolment_filters.append(Enrolment.clinic_id == bindparam("clinic"))
    if shape.area:
        area_programmes = select(Programme.id).where(Programme.area_id == bindparam("area"))
        enrolment_filters.append(
            Enrolment.clinic_id.in_(select(Clinic.id).where(Clinic.programme_id.in_(area_programmes)))
        )
    first = select(Patient.id).where(*patient_filters)
    if exact:
        enrolled = select(Enrolment.id).where(Enrolment.patient_id == Patient.id, *enrolment_filters)
        first = first.where(enrolled.exists())
    hits = first.order_by(KanaOrder(Patient.name_kana_key), Patient.id).limit(SEARCH_LIMIT).subquery()
    found = _FOUND
    return (
        select(
            found.id,
            found.family_name,
            found.given_name,
            found.family_name_kana,
            found.given_name_kana,
            found.date_of_birth,
            found.sex,
            Enrolment.id.label("enrolment_id"),
            Enrolment.clinic_id,
            Enrolment.clinic_patient_number,
            Enrolment.ended_on,
            Enrolment.end_reason,
            Clinic.label,
            Municipality.name,
        )
        .select_from(hits)
        .join(found, found.id == hits.c.id)
        .outerjoin(Enrolment, and_(Enrolment.patient_id == found.id, *enrolment_filters))
        .outerjoin(Clinic, Clinic.id == Enrolment.clinic_id)
        .join(Municipality, Municipality.id == found.municipality_id)
        .order_by(KanaOrder(found.name_kana_key), found.id, Enrolment.id)
        .limit(SEARCH_LIMIT)
    )


class PatientRejected(ValueError):
    """The patient or enrolment cannot be recorded; the message names the field."""


def enrol(session: Session, clock: Clock, user: User, data: PatientIn) -> tuple[Patient, Enrolment]:
    """Record a patient and their enrolment under a clinic (a clinic admin: their own clinic only)."""
    e = data.enrolment
    if user.role is Role.clinic_admin and e.clinic_id != user.clinic_id:
        raise PatientRejected("enrolment.clinic_id: you may enrol patients of your own clinic only")
    if session.get(Clinic, e.clinic_id) is None:
        raise PatientRejected(f"enrolment.clinic_id: no clinic {e.clinic_id}")
    if e.attending_physician_id is not None and session.get(Physician, e.attending_physician_id) is None:
        raise PatientRejected(f"enrolment.attending_physician_id: no physician {e.attending_physician_id}")
    town = session.get(Municipality, data.municipality_id)
    if town is None:
        raise PatientRejected(f"municipality_id: no municipality {data.municipality_id}")
    if session.scalar(
        select(Enrolment.id).where(
            Enrolment.clinic_id == e.clinic_id, Enrolment.clinic_patient_number == e.clinic_patient_number
        )
    ):
        raise PatientRejected("enrolment.clinic_patient_number: already used at this clinic")
    try:
        phone = to_e164(data.household_phone) if data.household_phone else None
    except InvalidPhoneNumber as exc:
        raise PatientRejected(f"household_phone: {exc}") from None
    fields = data.model_dump(exclude={"enrolment", "household_phone"})
    fields["latitude"] = data.latitude if data.latitude is not None else town.latitude
    fields["longitude"] = data.longitude if data.longitude is not None else town.longitude
    patient = Patient(**fields, household_phone_e164=phone)
    session.add(patient)
    session.flush()
    enrolment = Enrolment(patient_id=patient.id, **e.model_dump())
    session.add(enrolment)
    session.flush()
    audit.record(session, clock, user, "patient.create", patient_id=patient.id)
    return patient, enrolment
