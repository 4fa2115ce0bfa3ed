"""The prefecture's areas as the API shows them: reference data, no patient data."""

from __future__ import annotations

from pydantic import BaseModel


class TownOut(BaseModel):
    code: str
    name: str


class AssociationOut(BaseModel):
    name: str
    enhanced_support_hospitals: int
    enhanced_support_clinics: int
    backup_hospitals: int
    enhanced_visiting_nurse_stations: int
    municipalities: list[TownOut]


class HealthCentreOut(BaseModel):
    name: str
    associations: list[AssociationOut]


class AreaOut(BaseModel):
    id: int
    code: str
    name: str
    programme: str | None  # the programme that serves the area on this deployment, if one does
    programme_id: int | None = None  # its id, as cases name it (`CaseOut.programme_id`)
    neighbours: list[str]  # area codes
    travel_cap_min: int
    municipalities: int
    municipalities_with_hub: int | None
    health_centres: list[HealthCentreOut]


class PrefectureOut(BaseModel):
    prefecture: str | None
    areas: list[AreaOut]
