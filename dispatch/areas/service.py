"""Reading the prefecture's areas: the tree, each area's neighbours, and which area a town or case is in."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dispatch.areas.models import HealthCentre, MedicalAssociation
from dispatch.areas.schemas import AreaOut, AssociationOut, HealthCentreOut, PrefectureOut, TownOut
from dispatch.programme.models import MedicalArea, Municipality, Programme, area_neighbour


def neighbours(session: Session) -> dict[int, frozenset[int]]:
    """Each area's neighbours, by id (every area listed, with none when it has none)."""
    result: dict[int, set[int]] = {area: set() for area in session.scalars(select(MedicalArea.id))}
    for area, neighbour in session.execute(select(area_neighbour.c.area_id, area_neighbour.c.neighbour_id)):
        result[area].add(neighbour)
        result.setdefault(neighbour, set()).add(area)  # kept both ways even if a row was written one way
    return {area: frozenset(ids) for area, ids in result.items()}


def area_by_code(session: Session, code: str) -> MedicalArea | None:
    """The area with this code."""
    return session.scalar(select(MedicalArea).where(MedicalArea.code == code))


def prefecture_tree(session: Session) -> PrefectureOut:
    """Areas in the prefecture's order, each with its 保健所, their associations and towns."""
    areas = list(
        session.scalars(
            select(MedicalArea)
            .options(selectinload(MedicalArea.neighbours), selectinload(MedicalArea.municipalities))
            .order_by(MedicalArea.position, MedicalArea.id)
        )
    )
    programmes = {
        area_id: (code, programme_id)
        for area_id, code, programme_id in session.execute(
            select(Programme.area_id, Programme.code, Programme.id).order_by(Programme.id.desc())
        )
    }
    centres = list(session.scalars(select(HealthCentre).order_by(HealthCentre.position, HealthCentre.id)))
    associations = list(
        session.scalars(select(MedicalAssociation).order_by(MedicalAssociation.position, MedicalAssociation.id))
    )
    towns = list(session.scalars(select(Municipality).order_by(Municipality.code)))

    def association_out(association: MedicalAssociation) -> AssociationOut:
        return AssociationOut(
            name=association.name,
            enhanced_support_hospitals=association.enhanced_support_hospitals,
            enhanced_support_clinics=association.enhanced_support_clinics,
            backup_hospitals=association.backup_hospitals,
            enhanced_visiting_nurse_stations=association.enhanced_visiting_nurse_stations,
            municipalities=[
                TownOut(code=t.code, name=t.name) for t in towns if t.medical_association_id == association.id
            ],
        )

    return PrefectureOut(
        prefecture=areas[0].prefecture if areas else None,
        areas=[
            AreaOut(
                id=area.id,
                code=area.code,
                name=area.name,
                programme=programmes[area.id][0] if area.id in programmes else None,
                programme_id=programmes[area.id][1] if area.id in programmes else None,
                neighbours=[n.code for n in area.neighbours],
                travel_cap_min=area.travel_cap_min,
                municipalities=len(area.municipalities),
                municipalities_with_hub=area.municipalities_with_hub,
                health_centres=[
                    HealthCentreOut(
                        name=centre.name,
                        associations=[
                            association_out(a) for a in associations if a.health_centre_id == centre.id
                        ],
                    )
                    for centre in centres
                    if centre.area_id == area.id
                ],
            )
            for area in areas
        ],
    )
