"""Calendar feeds and shift reminders: the public feed by token, and the physician's own settings for them
(the physician themself, or a coordinator)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from dispatch.audit import service as audit
from dispatch.auth.guard import allow, current_user, public
from dispatch.auth.models import Role, User
from dispatch.deps import db_session, get_services
from dispatch.ids import PathId
from dispatch.roster import calendar
from dispatch.roster.models import Physician

router = APIRouter(tags=["calendar"])
OWNERS = (Role.substitute_physician, Role.coordinator, Role.admin)
FEED_HEADERS = {
    "Cache-Control": "private, max-age=300",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class CalendarLink(BaseModel):
    url: str
    webcal_url: str
    created_at: datetime


class Preferences(BaseModel):
    shift_reminders: bool
    reminder_lead_minutes: int  # how long before each shift the reminder goes (the service's setting)
    calendar_feed_since: datetime | None


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shift_reminders: bool


def _own(session: Session, user: User, physician_id: int) -> Physician:
    """The substitute physician the caller may manage: their own record, or anyone's for a coordinator.
    Someone else's is answered as unknown, so a physician learns nothing of the roster from it."""
    physician = calendar.substitute(session, physician_id)
    if physician is None or (user.role is Role.substitute_physician and user.physician_id != physician_id):
        raise HTTPException(404, detail=f"physician_id: no substitute physician {physician_id} of yours")
    return physician


def _preferences(request: Request, session: Session, physician: Physician) -> Preferences:
    return Preferences(
        shift_reminders=physician.shift_reminders,
        reminder_lead_minutes=get_services(request).settings.shift_reminder_lead_s // 60,
        calendar_feed_since=calendar.live_token_since(session, physician.id),
    )


@router.get(
    "/calendar/{token}.ics",
    response_class=Response,
    dependencies=[public()],
    responses={200: {"content": {"text/calendar": {}}}, 404: {"description": "unknown or revoked"}},
)
def calendar_feed(token: str, request: Request, session: Session = Depends(db_session)) -> Response:
    """A physician's shifts as an iCalendar feed for a phone calendar; the token in the path is the key."""
    physician = calendar.physician_for_token(session, token)
    if physician is None:
        return Response(status_code=404, headers=FEED_HEADERS)
    services = get_services(request)
    domain = urlsplit(services.settings.public_base_url).hostname or "dispatch"
    body = calendar.feed(session, services.clock, physician, services.settings.timezone, domain)
    return Response(body, media_type="text/calendar; charset=utf-8", headers=FEED_HEADERS)


@router.post(
    "/api/v1/physicians/{physician_id}/calendar-token",
    response_model=CalendarLink,
    status_code=201,
    dependencies=[allow(*OWNERS)],
)
def issue_calendar_token(
    physician_id: PathId,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> CalendarLink:
    """A new private calendar link (shown this once; the previous link stops working)."""
    physician = _own(session, user, physician_id)
    services = get_services(request)
    token = calendar.issue_token(session, services.clock, physician.id)
    audit.record(session, services.clock, user, "calendar.link_issued", detail={"physician_id": physician.id})
    session.commit()
    url = f"{services.settings.public_base_url.rstrip('/')}/calendar/{token}.ics"
    return CalendarLink(
        url=url, webcal_url="webcal://" + url.split("://", 1)[1], created_at=services.clock.now()
    )


@router.delete(
    "/api/v1/physicians/{physician_id}/calendar-token", status_code=204, dependencies=[allow(*OWNERS)]
)
def revoke_calendar_token(
    physician_id: PathId,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    """Stop the physician's calendar link at once."""
    physician = _own(session, user, physician_id)
    services = get_services(request)
    revoked = calendar.revoke_tokens(session, services.clock, physician.id)
    if revoked:
        audit.record(
            session, services.clock, user, "calendar.link_revoked", detail={"physician_id": physician.id}
        )
    session.commit()
    return Response(status_code=204)


@router.get(
    "/api/v1/physicians/{physician_id}/preferences",
    response_model=Preferences,
    dependencies=[allow(*OWNERS)],
)
def read_preferences(
    physician_id: PathId,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Preferences:
    """Whether shift reminders are on, and since when a calendar link is live (if one is)."""
    return _preferences(request, session, _own(session, user, physician_id))


@router.patch(
    "/api/v1/physicians/{physician_id}/preferences",
    response_model=Preferences,
    dependencies=[allow(*OWNERS)],
)
def change_preferences(
    physician_id: PathId,
    body: PreferencesIn,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Preferences:
    """Turn the reminder SMS before each shift on or off."""
    physician = _own(session, user, physician_id)
    physician.shift_reminders = body.shift_reminders
    services = get_services(request)
    audit.record(
        session,
        services.clock,
        user,
        "physician.reminders_" + ("on" if body.shift_reminders else "off"),
        detail={"physician_id": physician.id},
    )
    answer = _preferences(request, session, physician)
    session.commit()
    return answer
