"""Registering a physician with the programme: a substitute (代診医) who takes offers by SMS, a consulting
physician (whose account triages calls), or a patient's attending physician."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.clinics.models import Clinic
from dispatch.clinics.scope import clinics_in_area
from dispatch.ids import ID_MAX
from dispatch.phones import InvalidPhoneNumber, to_e164
from dispatch.programme.models import Municipality
from dispatch.roster.models import ContactPreference, Physician, PhysicianRole
from dispatch.roster.service import RosterRejected


class PhysicianIn(BaseModel):
    """A physician as the coordinator registers them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    role: PhysicianRole
    phone: str | None = Field(
        None, max_length=32, description="the mobile that receives offers (a substitute needs one)"
    )
    clinic_id: int | None = Field(None, ge=1, le=ID_MAX)
    base_municipality_id: int | None = Field(
        None, ge=1, le=ID_MAX, description="where the physician sets off from (travel estimates)"
    )
    contact: ContactPreference = Field(
        ContactPreference.sms_then_call, description="an unanswered offer SMS is followed by a call, or not"
    )


class PhysicianCreated(BaseModel):
    """The registered physician (the phone number is not echoed)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: PhysicianRole
    clinic_id: int | None
    base_municipality_id: int | None
    contact: ContactPreference


def based_at(
    name: str, role: PhysicianRole, phone_e164: str | None, clinic_id: int | None, base: Municipality | None
) -> Physician:
    """An active physician who sets off from `base`'s reference point (where travel is estimated from)."""
    return Physician(
        name=name,
        role=role,
        phone_e164=phone_e164,
        clinic_id=clinic_id,
        base_municipality_id=base.id if base else None,
        base_latitude=base.latitude if base else None,
        base_longitude=base.longitude if base else None,
        active=True,
    )


def _clinic_known(session: Session, clinic_id: int, area_id: int | None) -> bool:
    """Whether the clinic exists and, for an area coordinator (`area_id`), is one of their area's."""
    query = select(Clinic.id) if area_id is None else clinics_in_area(area_id)
    return session.scalar(query.where(Clinic.id == clinic_id).limit(1)) is not None


def register(session: Session, body: PhysicianIn, area_id: int | None = None) -> Physician:
    """Add an active physician; their base's reference point is where travel is estimated from. An area
    coordinator (`area_id`) names a clinic of their area; another area's answers as one that does not exist."""
    phone = None
    if body.phone:
        try:
            phone = to_e164(body.phone)
        except InvalidPhoneNumber as exc:
            raise RosterRejected("phone", str(exc)) from None
        if session.scalar(select(Physician.id).where(Physician.phone_e164 == phone)) is not None:
            raise RosterRejected("phone", "another physician already has this number")
    elif body.role is PhysicianRole.substitute:
        raise RosterRejected("phone", "a substitute physician needs a mobile number for offers")
    if body.clinic_id is not None and not _clinic_known(session, body.clinic_id, area_id):
        raise RosterRejected("clinic_id", f"no clinic {body.clinic_id}")
    base = None
    if body.base_municipality_id is not None:
        base = session.get(Municipality, body.base_municipality_id)
        if base is None:
            raise RosterRejected("base_municipality_id", f"no municipality {body.base_municipality_id}")
    physician = based_at(body.name, body.role, phone, body.clinic_id, base)
    physician.contact = body.contact
    session.add(physician)
    session.flush()
    return physician
