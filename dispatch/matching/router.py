"""The coordinator's picker: who could take a case now, and why automatic offering stopped."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow
from dispatch.auth.models import Role
from dispatch.cases.models import Case
from dispatch.deps import db_session, get_services
from dispatch.ids import PathId
from dispatch.matching.areas import case_estimate
from dispatch.matching.picker import picker
from dispatch.matching.schemas import CandidateOut, CandidatesOut, OfferingStoppedOut
from dispatch.phones import national

router = APIRouter(prefix="/api/v1", tags=["dispatch"])


@router.get(
    "/cases/{case_id}/candidates",
    response_model=CandidatesOut,
    dependencies=[allow(Role.operator, Role.consulting_physician, Role.coordinator, Role.admin)],
)
def case_candidates(request: Request, case_id: PathId, session: Session = Depends(db_session)) -> CandidatesOut:
    """Who could take the case now: on shift for its town first (travel time, phone, free or not), then those
    on call in a neighbouring area (marked with it), then the others, marked; and why automatic offering
    stopped, if it did."""
    case = session.get(Case, case_id)
    if case is None:
        raise HTTPException(404, detail=f"case_id: no case {case_id}")
    services = get_services(request)
    estimate = case_estimate(session, case.id)
    assert estimate is not None  # the case is there
    cross_area = services.settings.cross_area_backup
    found = picker(session, case, services.clock.now(), estimate, cross_area=cross_area)
    stopped = found.offering_stopped
    return CandidatesOut(
        case_id=case.id,
        reference=case.reference,
        state=case.state,
        alarm=case.alarm,
        municipality=found.municipality,
        offering_stopped=OfferingStoppedOut(**asdict(stopped)) if stopped else None,
        physicians=[
            CandidateOut(
                **asdict(c),
                phone=national(c.phone_e164) if c.phone_e164 else None,
                other_case_reference=f"K{c.other_case_id}" if c.other_case_id else None,
            )
            for c in found.candidates
        ],
    )
