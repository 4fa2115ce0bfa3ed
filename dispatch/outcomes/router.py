"""Outcomes: recorded by an operator for the physician, or by the physician through the details link."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy.orm import Session

from dispatch.audit import service as audit
from dispatch.auth.guard import allow, current_user, public
from dispatch.auth.models import Role, User
from dispatch.cases.lifecycle import Actor
from dispatch.cases.schemas import CaseOut
from dispatch.cases.service import CaseNotVisible, visible_case
from dispatch.deps import db_session, get_services
from dispatch.hospitals.service import HospitalRejected
from dispatch.ids import PathId
from dispatch.offers.visit import LinkRefused, case_for_link
from dispatch.outcomes import service
from dispatch.outcomes.schemas import AmendmentIn, AmendmentOut, OutcomeCorrectionIn, OutcomeIn, OutcomeOut

router = APIRouter(tags=["outcomes"])
READERS = (Role.operator, Role.consulting_physician, Role.coordinator, Role.clinic_admin, Role.admin)
AMENDERS = (Role.coordinator, Role.admin)
# Amendments hold findings (patient data): never the prefecture, a clinic only for its own cases.
AMENDMENT_READERS = (Role.coordinator, Role.admin, Role.clinic_admin)


@router.post(
    "/api/v1/cases/{case_id}/outcome",
    response_model=CaseOut,
    dependencies=[allow(Role.operator, Role.coordinator, Role.admin)],
)
def record_outcome(
    body: OutcomeCorrectionIn,
    request: Request,
    case_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> CaseOut:
    """Record the visit's outcome as the physician reported it (completes the visit); a correction keeps
    the version it replaces. A closed case's outcome is amended instead (.../outcome/amendments)."""
    services = get_services(request)
    try:
        case = service.record(
            session,
            services.clock,
            case_id,
            body,
            Actor(f"user:{user.username}", user.id),
            base_url=services.settings.public_base_url,
            reason=body.reason,
        )
    except LookupError:
        raise HTTPException(404, detail=f"case_id: no case {case_id}") from None
    except service.NotAmendable as refused:
        raise HTTPException(409, detail=str(refused)) from None
    except HospitalRejected as exc:
        raise HTTPException(422, detail=str(exc)) from None
    session.commit()
    return CaseOut.model_validate(case)


@router.get("/api/v1/cases/{case_id}/outcome", response_model=OutcomeOut, dependencies=[allow(*READERS)])
def read_outcome(
    request: Request,
    case_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> OutcomeOut:
    """The outcome and death record of a case (the read is audited)."""
    try:
        case = visible_case(session, user, case_id)
    except CaseNotVisible:
        raise HTTPException(404, detail=f"case_id: no case {case_id} that you may see") from None
    outcome = service.read(session, case_id)
    if outcome is None:
        raise HTTPException(404, detail=f"case_id: no outcome recorded for case {case_id} yet")
    audit.record(
        session,
        get_services(request).clock,
        user,
        "case.outcome.read",
        patient_id=case.patient_id,
        case_id=case.id,
    )
    session.commit()
    return outcome


@router.post("/visit/{token}/outcome", response_model=CaseOut, dependencies=[public()])
def record_outcome_by_link(
    body: OutcomeIn, token: str, request: Request, session: Session = Depends(db_session)
) -> CaseOut:
    """The physician records the outcome through their signed link."""
    try:
        offer, case = case_for_link(request, session, token)
    except LinkRefused as refused:
        raise HTTPException(refused.status, detail=str(refused)) from None
    services = get_services(request)
    try:
        case = service.record(
            session,
            services.clock,
            case.id,
            body,
            Actor(label=f"link:physician-{offer.physician_id}"),
            base_url=services.settings.public_base_url,
        )
    except HospitalRejected as exc:
        raise HTTPException(422, detail=str(exc)) from None
    session.commit()
    return CaseOut.model_validate(case)


@router.post(
    "/api/v1/cases/{case_id}/outcome/amendments",
    response_model=AmendmentOut,
    status_code=201,
    dependencies=[allow(*AMENDERS)],
)
def amend_outcome(
    body: AmendmentIn,
    request: Request,
    case_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> AmendmentOut:
    """Correct a recorded outcome and its death record (added, changed or removed), with a reason, also after
    closing; the version replaced is kept, the timeline and the audit log show the change."""
    services = get_services(request)
    try:
        kept = service.amend(
            session, services.clock, case_id, body, user=user, base_url=services.settings.public_base_url
        )
    except LookupError:
        raise HTTPException(404, detail=f"case_id: no case {case_id}") from None
    except service.NotAmendable as refused:
        raise HTTPException(409, detail=str(refused)) from None
    except HospitalRejected as exc:
        raise HTTPException(422, detail=str(exc)) from None
    session.commit()
    return service.amendment_out(kept, user.display_name)


@router.get(
    "/api/v1/cases/{case_id}/outcome/amendments",
    response_model=list[AmendmentOut],
    dependencies=[allow(*AMENDMENT_READERS)],
)
def read_amendments(
    request: Request,
    case_id: PathId,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> list[AmendmentOut]:
    """Every earlier version of a case's outcome, oldest first: who, when, why, before and after (audited)."""
    try:
        case = visible_case(session, user, case_id)
    except CaseNotVisible:
        raise HTTPException(404, detail=f"case_id: no case {case_id} that you may see") from None
    kept = service.amendments(session, case.id)
    audit.record(
        session,
        get_services(request).clock,
        user,
        "case.outcome.amendments.read",
        patient_id=case.patient_id,
        case_id=case.id,
    )
    session.commit()
    return kept
