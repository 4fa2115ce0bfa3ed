"""Reading a patient's care profile; every read is audited."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.audit import service as audit
from dispatch.auth.models import Role, User
from dispatch.clinics.models import Clinic
from dispatch.clock import Clock
from dispatch.patients import kana
from dispatch.patients.models import Enrolment, Patient
from dispatch.patients.schemas import CareProfileOut, EnrolmentOut, PatientIn, PatientMatch
from dispatch.phones import InvalidPhoneNumber, to_e164
from dispatch.programme.models import Municipality
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
    """Patients matching what the caller said (kana by prefix, in SQL); each match returned is audited."""
    query = (
        select(Patient, Enrolment, Clinic.label, Municipality.name)
        .join(Enrolment, Enrolment.patient_id == Patient.id)
        .join(Clinic, Clinic.id == Enrolment.clinic_id)
        .join(Municipality, Municipality.id == Patient.municipality_id)
    )
    if clinic_patient_number:
        query = query.where(Enrolment.clinic_patient_number == clinic_patient_number)
    if household_phone:
        query = query.where(Patient.household_phone_e164 == household_phone)
    if date_of_birth:
        query = query.where(Patient.date_of_birth == date_of_birth)
    if name_kana and (wanted := kana.fold(name_kana)):
        query = query.where(Patient.name_kana_key.like(kana.prefix_pattern(wanted), escape=kana.LIKE_ESCAPE))
    if user.role is Role.clinic_admin:
        query = query.where(Enrolment.clinic_id == user.clinic_id)
    matches: list[PatientMatch] = []
    for patient, enrolment, label, town in session.execute(
        query.order_by(Patient.id, Enrolment.id).limit(SEARCH_LIMIT)
    ):
        matches.append(
            PatientMatch(
                id=patient.id,
                name=f"{patient.family_name} {patient.given_name}",
                name_kana=f"{patient.family_name_kana} {patient.given_name_kana}",
                date_of_birth=patient.date_of_birth,
                sex=patient.sex,
                clinic_id=enrolment.clinic_id,
                clinic_label=label,
                clinic_patient_number=enrolment.clinic_patient_number,
                municipality=town,
                enrolment_id=enrolment.id,
                ended_on=enrolment.ended_on,
                end_reason=enrolment.end_reason,
            )
        )
    # Each match returned is written as read (one entry each, in one run of the chain).
    audit.record_each(session, clock, user, "patient.search.match", patient_ids=[m.id for m in matches])
    return matches


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
