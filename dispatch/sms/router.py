"""The outbox: SMS in and out. (Twilio's webhooks move cases along: they are `flow.router`'s.)"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from dispatch.areas.scope import area_programmes
from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.auth.scope import area_scope
from dispatch.cases.models import Case
from dispatch.deps import db_session
from dispatch.phones import masked
from dispatch.programme.models import Programme
from dispatch.roster.models import Physician
from dispatch.roster.scope import physicians_in_area
from dispatch.sms.cap import held_numbers
from dispatch.sms.models import SmsMessage
from dispatch.sms.service import redact_links

router = APIRouter(tags=["sms"])


def messages_of_area(area_id: int) -> ColumnElement[bool]:
    """An area's messages: of its cases, to or from its physicians, to its programme's coordinator phone."""
    programmes = area_programmes(area_id)
    cases = select(Case.id).where(Case.programme_id.in_(programmes))
    phones = select(Physician.phone_e164).where(Physician.id.in_(physicians_in_area(area_id)))
    coordinator = select(Programme.coordinator_phone).where(Programme.id.in_(programmes))
    return or_(SmsMessage.case_id.in_(cases), SmsMessage.phone_e164.in_(phones.union(coordinator)))


class SmsOut(BaseModel):
    id: int
    direction: str
    phone_e164: str
    body: str
    purpose: str
    status: str
    case_id: int | None
    created_at: object
    not_before: object = None  # held by the hourly cap: the earliest it may go


class HeldNumberOut(BaseModel):
    phone_e164: str
    physician_id: int | None
    physician_name: str | None
    held: int
    next_at: object
    alerted_at: object


@router.get(
    "/api/v1/sms/messages",
    response_model=list[SmsOut],
    dependencies=[allow(Role.operator, Role.coordinator, Role.admin)],
)
def outbox(
    limit: int = Query(100, ge=1, le=1000),
    case_id: int | None = Query(None, ge=1, le=2_147_483_647),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> list[SmsOut]:
    """SMS in and out, newest first: under `dispatch up` this is where the console adapter's messages show. An
    area coordinator sees their area's: its cases', its physicians' and its coordinator phone's."""
    query = select(SmsMessage).order_by(SmsMessage.id.desc()).limit(limit)
    area_id = area_scope(user)
    if area_id is not None:
        query = query.where(messages_of_area(area_id))
    if case_id is not None:
        query = query.where(SmsMessage.case_id == case_id)
    return [
        SmsOut.model_validate(m, from_attributes=True).model_copy(
            update={"body": redact_links(m.body)}
            # A family's number is the caller's, read on the case's page (audited), not in the outbox.
            | ({"phone_e164": masked(m.phone_e164)} if m.purpose.startswith("family_") else {})
        )
        for m in session.scalars(query)
    ]


@router.get(
    "/api/v1/sms/held",
    response_model=list[HeldNumberOut],
    # Everyone who watches the board, which shows these in a banner.
    dependencies=[allow(Role.operator, Role.consulting_physician, Role.coordinator, Role.admin)],
)
def held(user: User = Depends(current_user), session: Session = Depends(db_session)) -> list[HeldNumberOut]:
    """Numbers whose SMS are held by the hourly cap per number: how many wait, and when the next may go (an
    area coordinator: their area's numbers)."""
    numbers = held_numbers(session)
    area_id = area_scope(user)
    if area_id is not None:
        ours = set(session.scalars(select(SmsMessage.phone_e164).where(messages_of_area(area_id)).distinct()))
        numbers = [n for n in numbers if n.phone_e164 in ours]
    phones = [n.phone_e164 for n in numbers]
    physicians = {
        phone: (physician_id, name)
        for phone, physician_id, name in session.execute(
            select(Physician.phone_e164, Physician.id, Physician.name).where(Physician.phone_e164.in_(phones))
        )
    }
    return [
        HeldNumberOut(
            # A number no physician has is a family's (the caller's, read on the case's page, audited):
            # named by its last digits, as in the outbox.
            phone_e164=n.phone_e164 if n.phone_e164 in physicians else masked(n.phone_e164),
            physician_id=physicians.get(n.phone_e164, (None, None))[0],
            physician_name=physicians.get(n.phone_e164, (None, None))[1],
            held=n.held,
            next_at=n.next_at,
            alerted_at=n.alerted_at,
        )
        for n in numbers
    ]
