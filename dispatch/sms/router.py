"""The outbox: SMS in and out. (Twilio's webhooks move cases along: they are `flow.router`'s.)"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.auth.guard import allow
from dispatch.auth.models import Role
from dispatch.deps import db_session
from dispatch.sms.models import SmsMessage
from dispatch.sms.service import redact_links

router = APIRouter(tags=["sms"])


class SmsOut(BaseModel):
    id: int
    direction: str
    phone_e164: str
    body: str
    purpose: str
    status: str
    case_id: int | None
    created_at: object


@router.get(
    "/api/v1/sms/messages",
    response_model=list[SmsOut],
    dependencies=[allow(Role.operator, Role.coordinator, Role.admin)],
)
def outbox(
    limit: int = Query(100, ge=1, le=1000),
    case_id: int | None = Query(None, ge=1, le=2_147_483_647),
    session: Session = Depends(db_session),
) -> list[SmsOut]:
    """SMS in and out, newest first: under `dispatch up` this is where the console adapter's messages show."""
    query = select(SmsMessage).order_by(SmsMessage.id.desc()).limit(limit)
    if case_id is not None:
        query = query.where(SmsMessage.case_id == case_id)
    return [
        SmsOut.model_validate(m, from_attributes=True).model_copy(update={"body": redact_links(m.body)})
        for m in session.scalars(query)
    ]
