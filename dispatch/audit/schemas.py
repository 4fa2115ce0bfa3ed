"""Audit log entries as the admin sees them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    user_id: int | None
    role: str
    action: str
    patient_id: int | None
    case_id: int | None
    detail: dict[str, Any]
