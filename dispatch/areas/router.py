"""The prefecture's areas (広域連携): reference data every staff role may read."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from dispatch.areas import service
from dispatch.areas.schemas import PrefectureOut
from dispatch.auth.guard import authenticated
from dispatch.deps import db_session

router = APIRouter(prefix="/api/v1", tags=["areas"])


@router.get("/areas", response_model=PrefectureOut, dependencies=[authenticated()])
def read_areas(session: Session = Depends(db_session)) -> PrefectureOut:
    """The prefecture's medical areas → 保健所 → district medical associations → municipalities, with each
    area's neighbours, travel cap, hub count and the programme serving it here."""
    return service.prefecture_tree(session)
