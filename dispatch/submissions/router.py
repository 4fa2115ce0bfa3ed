"""Monthly submissions over HTTP: the coordinator submits, the prefecture reads. Counts only, no patient."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.deps import db_session, get_services
from dispatch.programme.choice import AREA_HELP, asked_programme
from dispatch.submissions import formats, service
from dispatch.submissions.schemas import SubmissionDetail, SubmissionIn, SubmissionOut

router = APIRouter(prefix="/api/v1/submissions", tags=["submissions"])
SUBMITTERS = (Role.coordinator, Role.admin)
# A clinic admin sees no submission: it holds every clinic's figures, and their own are in /reports.
SUBMISSION_READERS = (Role.prefecture_analyst, Role.coordinator, Role.admin)
# `?area=`: the centre's coordinator, the admin and the prefecture any area's; an area coordinator their own.
AREA = Query(None, max_length=32, description=AREA_HELP)


def _month(text: str) -> str:
    try:
        service.parse_month(text)
    except ValueError as exc:
        raise HTTPException(422, detail=f"month: {exc}") from None
    return text


@router.post("", response_model=SubmissionOut, status_code=201, dependencies=[allow(*SUBMITTERS)])
def submit_month(
    body: SubmissionIn,
    request: Request,
    area: str | None = AREA,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> SubmissionOut:
    """Submit a month that has ended: its figures are frozen with who and when; again makes a new version (of
    `area`'s programme if named; else the user's area's, or the centre's)."""
    services = get_services(request)
    programme = asked_programme(request, session, user, area)
    try:
        submission = service.submit(session, services.clock, programme, user, body.month, body.note)
        session.commit()
    except ValueError as exc:  # not a month, or not over yet
        raise HTTPException(422, detail=f"month: {exc}") from None
    except IntegrityError:
        session.rollback()
        raise HTTPException(
            409, detail=f"month: {body.month} was submitted by someone else at the same moment; reload"
        ) from None
    return SubmissionOut(
        month=submission.month,
        version=submission.version,
        submitted_at=submission.submitted_at,
        submitted_by=submission.submitted_by_name,
        submitted_by_id=submission.submitted_by,
        note=submission.note,
        latest=True,
        changed_since=False,
    )


@router.get("", response_model=list[SubmissionOut], dependencies=[allow(*SUBMISSION_READERS)])
def list_submissions(
    request: Request,
    area: str | None = AREA,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> list[SubmissionOut]:
    """Every submission (newest month, then newest version first) and whether its figures changed since: of
    `area`'s programme if named, else the user's area's (an area coordinator's) or the centre's."""
    return service.listing(session, asked_programme(request, session, user, area))


def _detail(request: Request, session: Session, user: User, month: str, area: str | None) -> SubmissionDetail:
    programme = asked_programme(request, session, user, area)
    detail = service.detail(session, programme, _month(month))
    if detail is None:
        raise HTTPException(404, detail=f"month: {month} has not been submitted")
    return detail


@router.get("/{month}.csv", dependencies=[allow(*SUBMISSION_READERS)])
def submission_csv(
    month: str,
    request: Request,
    area: str | None = AREA,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    """The submitted figures beside today's, changes marked: CSV for Excel (UTF-8 with BOM)."""
    detail = _detail(request, session, user, month, area)
    return Response(
        formats.submission_csv(detail, get_services(request).settings.timezone),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="submission_{month}_v{detail.version}.csv"'},
    )


@router.get("/{month}", response_model=SubmissionDetail, dependencies=[allow(*SUBMISSION_READERS)])
def read_submission(
    month: str,
    request: Request,
    area: str | None = AREA,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> SubmissionDetail:
    """The submitted figures, the figures now, and every number that changed since (submitted → now)."""
    return _detail(request, session, user, month, area)
