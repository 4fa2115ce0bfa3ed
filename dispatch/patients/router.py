"""Patients' care profiles (audited reads)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.deps import db_session, get_services
from dispatch.ids import PathId
from dispatch.patients import endings, service
from dispatch.patients.schemas import (
    CareProfileOut,
    EndingIn,
    EnrolmentState,
    PatientCreated,
    PatientIn,
    PatientMatch,
    PatientSearch,
    ReopenIn,
)

router = APIRouter(prefix="/api/v1", tags=["patients"])

PROFILE_READERS = (Role.operator, Role.consulting_physician, Role.coordinator, Role.clinic_admin)


@router.get("/patients/{patient_id}", response_model=CareProfileOut, dependencies=[allow(*PROFILE_READERS)])
def read_care_profile(
    request: Request,
    patient_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> CareProfileOut:
    """A patient's care profile: diagnoses, ACP/DNAR wishes, devices, key person, attending physician."""
    try:
        profile = service.care_profile(session, get_services(request).clock, user, patient_id)
    except service.PatientNotFound:
        raise HTTPException(404, detail=f"patient_id: no patient {patient_id} that you may see") from None
    session.commit()  # the audit entry is part of the read
    return profile


@router.post("/patients/search", response_model=list[PatientMatch], dependencies=[allow(*PROFILE_READERS)])
def search_patients(
    body: PatientSearch,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> list[PatientMatch]:
    """Find the patient a caller describes (chart number, household phone, or kana name and birth date).

    A POST, so that what the caller said never lands in a URL or an access log."""
    matches = service.search(
        session,
        get_services(request).clock,
        user,
        clinic_patient_number=body.clinic_patient_number,
        household_phone=body.household_phone,
        name_kana=body.name_kana,
        date_of_birth=body.date_of_birth,
    )
    session.commit()
    return matches


@router.post(
    "/patients",
    response_model=PatientCreated,
    status_code=201,
    dependencies=[allow(Role.admin, Role.clinic_admin)],
)
def enrol_patient(
    body: PatientIn,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> PatientCreated:
    """Enrol a patient under a clinic's contract, with their care profile and consent."""
    try:
        patient, enrolment = service.enrol(session, get_services(request).clock, user, body)
    except service.PatientRejected as exc:
        raise HTTPException(422, detail=str(exc)) from None
    session.commit()
    return PatientCreated(id=patient.id, enrolment_id=enrolment.id)


ENDERS = (Role.coordinator, Role.clinic_admin, Role.admin)


def _ending_problem(exc: Exception, enrolment_id: int) -> HTTPException:
    if isinstance(exc, endings.EnrolmentNotFound):
        return HTTPException(
            404, detail=f"enrolment_id: no enrolment {enrolment_id} of this patient that you may see"
        )
    if isinstance(exc, endings.EndingConflict):
        return HTTPException(409, detail=f"enrolment_id: {exc}")
    return HTTPException(422, detail=str(exc))


@router.post(
    "/patients/{patient_id}/enrolments/{enrolment_id}/end",
    response_model=EnrolmentState,
    dependencies=[allow(*ENDERS)],
)
def end_enrolment(
    body: EndingIn,
    request: Request,
    patient_id: PathId,
    enrolment_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> EnrolmentState:
    """End an enrolment: `ended_on` is its last covered day; later calls are out of contract (audited)."""
    try:
        enrolment = endings.end(
            session,
            get_services(request).clock,
            user,
            patient_id=patient_id,
            enrolment_id=enrolment_id,
            ended_on=body.ended_on,
            reason=body.reason,
            note=body.note,
        )
    except (endings.EnrolmentNotFound, endings.EndingConflict, endings.EndingRejected) as exc:
        raise _ending_problem(exc, enrolment_id) from None
    session.commit()
    return EnrolmentState.model_validate(enrolment)


@router.post(
    "/patients/{patient_id}/enrolments/{enrolment_id}/reopen",
    response_model=EnrolmentState,
    dependencies=[allow(*ENDERS)],
)
def reopen_enrolment(
    body: ReopenIn,
    request: Request,
    patient_id: PathId,
    enrolment_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> EnrolmentState:
    """Undo an enrolment's ending given by hand, with a reason (audited)."""
    try:
        enrolment = endings.reopen(
            session,
            get_services(request).clock,
            user,
            patient_id=patient_id,
            enrolment_id=enrolment_id,
            reason=body.reason,
        )
    except (endings.EnrolmentNotFound, endings.EndingConflict) as exc:
        raise _ending_problem(exc, enrolment_id) from None
    session.commit()
    return EnrolmentState.model_validate(enrolment)
