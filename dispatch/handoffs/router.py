"""Handoff reports: listed, read (audited) and acknowledged by the clinic."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.audit import service as audit
from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.auth.scope import area_scope
from dispatch.cases.models import Case
from dispatch.clinics.models import Clinic
from dispatch.deps import db_session, get_services, model_response
from dispatch.handoffs import service
from dispatch.handoffs.models import Handoff
from dispatch.handoffs.schemas import HandoffCase, HandoffDeath, HandoffDetail, HandoffOut, HandoffRequest
from dispatch.ids import PathId
from dispatch.outcomes.models import DeathRecord, VisitOutcome
from dispatch.patients.models import Enrolment, Patient
from dispatch.programme.models import Programme
from dispatch.roster.models import Physician

router = APIRouter(prefix="/api/v1/handoffs", tags=["handoffs"])
READERS = (Role.clinic_admin, Role.coordinator, Role.operator, Role.admin)


def _physician_name(session: Session, physician_id: int | None) -> str | None:
    physician = session.get(Physician, physician_id) if physician_id is not None else None
    return physician.name if physician is not None else None


def _visit(session: Session, case: Case) -> dict:
    """What the visit found and did, and the death record: the attending physician carries on from it."""
    outcome = session.get(VisitOutcome, case.id)
    if outcome is None:
        return {"outcome": None}
    death = session.get(DeathRecord, case.id)
    return {
        "outcome": outcome.outcome.value,
        "findings": outcome.findings,
        "treatment": outcome.treatment,
        "medication": outcome.medication,
        "visit_arrived_at": outcome.arrived_at,
        "visit_ended_at": outcome.ended_at,
        "death": HandoffDeath(
            noticed_at=death.noticed_at,
            confirmed_at=death.confirmed_at,
            confirming_physician_id=death.confirming_physician_id,
            confirming_physician_name=_physician_name(session, death.confirming_physician_id),
            related_to_treated_disease=death.related_to_treated_disease,
            certificate_by=death.certificate_by,
            police_informed=death.police_informed,
            note=death.note,
        )
        if death is not None
        else None,
    }


def _out(session: Session, handoff: Handoff) -> HandoffOut:
    return HandoffOut(
        id=handoff.id,
        clinic_id=handoff.clinic_id,
        clinic_label=session.get_one(Clinic, handoff.clinic_id).label,
        period_start=handoff.period_start,
        period_end=handoff.period_end,
        created_at=handoff.created_at,
        acknowledged_at=handoff.acknowledged_at,
        flagged_at=handoff.flagged_at,
        cases=len(service.cases_of(session, handoff)),
    )


@router.get("", response_model=list[HandoffOut], dependencies=[allow(*READERS)])
def list_handoffs(
    user: User = Depends(current_user), session: Session = Depends(db_session)
) -> list[HandoffOut]:
    """Morning reports, newest first (a clinic admin sees their clinic's only)."""
    return [_out(session, h) for h in service.visible(session, user)]


@router.post(
    "",
    response_model=HandoffOut,
    status_code=201,
    dependencies=[allow(Role.coordinator, Role.admin)],
    responses={200: {"model": HandoffOut, "description": "Nothing new to report: the clinic's latest report"}},
)
def make_handoff(
    body: HandoffRequest,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    """A clinic's report now, as the 08:00 job would make it: the cases no report carries yet (201). Pressed
    again with nothing new, it makes nothing and answers the clinic's latest report (200). An area
    coordinator makes their area's clinics' reports; the centre's any area's."""
    services = get_services(request)
    clinic = session.get(Clinic, body.clinic_id)
    programme = session.get(Programme, clinic.programme_id) if clinic is not None else None
    area_id = area_scope(user)
    if clinic is None or programme is None or (area_id is not None and programme.area_id != area_id):
        raise HTTPException(422, detail=f"clinic_id: no clinic {body.clinic_id}")
    handoff, made = service.make_handoff_now(
        session,
        services.clock,
        programme,
        clinic.id,
        services.settings.handoff_time,
        services.settings.public_base_url,
    )
    if handoff is None:
        raise HTTPException(409, detail=f"clinic_id: clinic {clinic.id} has no case to hand off")
    session.commit()
    return model_response(_out(session, handoff), 201 if made else 200)


@router.get("/{handoff_id}", response_model=HandoffDetail, dependencies=[allow(*READERS)])
def read_handoff(
    request: Request,
    handoff_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> HandoffDetail:
    """The report with each case: what was asked, decided and done (the visit's findings, treatment,
    medication and the death record). Every case read is audited."""
    try:
        handoff = service.visible(session, user, handoff_id)
    except service.HandoffNotVisible:
        raise HTTPException(404, detail=f"handoff_id: no handoff {handoff_id} that you may see") from None
    clock = get_services(request).clock
    items = []
    for case in service.cases_of(session, handoff):
        patient = session.get(Patient, case.patient_id) if case.patient_id else None
        chart = (
            session.scalar(
                select(Enrolment.clinic_patient_number).where(
                    Enrolment.patient_id == case.patient_id, Enrolment.clinic_id == handoff.clinic_id
                )
            )
            if patient
            else None
        )
        audit.record(session, clock, user, "handoff.case.read", patient_id=case.patient_id, case_id=case.id)
        items.append(
            HandoffCase(
                id=case.id,
                reference=case.reference,
                called_at=case.called_at,
                state=case.state,
                disposition=case.disposition,
                urgency=case.urgency,
                patient_id=case.patient_id,
                patient_name=f"{patient.family_name} {patient.given_name}" if patient else None,
                clinic_patient_number=chart,
                chief_complaint=case.chief_complaint,
                triage_note=case.triage_note,
                ended_because=case.ended_because,
                visiting_physician_name=_physician_name(session, case.assigned_physician_id),
                **_visit(session, case),
            )
        )
    detail = HandoffDetail(**_out(session, handoff).model_dump(), items=items)
    session.commit()
    return detail


@router.post(
    "/{handoff_id}/acknowledge",
    response_model=HandoffOut,
    dependencies=[allow(Role.clinic_admin, Role.coordinator, Role.admin)],
)
def acknowledge_handoff(
    request: Request,
    handoff_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> HandoffOut:
    """The clinic has read the report; its completed visits are closed."""
    try:
        handoff = service.acknowledge(session, get_services(request).clock, user, handoff_id)
    except service.HandoffNotVisible:
        raise HTTPException(404, detail=f"handoff_id: no handoff {handoff_id} that you may see") from None
    session.commit()
    return _out(session, handoff)
