"""The audit log, for administrators."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from dispatch.audit import service
from dispatch.audit.schemas import AuditEntryOut
from dispatch.auth.guard import allow
from dispatch.auth.models import Role
from dispatch.deps import db_session
from dispatch.ids import ID_MAX

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit", response_model=list[AuditEntryOut], dependencies=[allow(Role.admin)])
def list_audit_entries(
    patient_id: int | None = Query(None, ge=1, le=ID_MAX),
    limit: int = Query(200, ge=1, le=1000),
    session: Session = Depends(db_session),
):
    """The newest audit entries, optionally for one patient."""
    return service.entries(session, patient_id=patient_id, limit=limit)
