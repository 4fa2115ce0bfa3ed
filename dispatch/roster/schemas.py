"""Shifts as the API returns them (no phone numbers)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class ShiftOut(BaseModel):
    id: int
    physician_id: int
    physician_name: str
    starts_at: datetime
    ends_at: datetime
    coverage: list[str]
