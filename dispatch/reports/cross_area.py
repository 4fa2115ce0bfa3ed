"""広域連携 in the reports: house calls made by a physician from another area (`Case.visiting_area_id`),
received in the patient's area and given by the physician's, by the other area."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.programme.models import MedicalArea, Programme
from dispatch.reports.schemas import AreaSection, CrossArea, CrossAreaLine


class AreaNames:
    """The areas by id (code, name) in the prefecture's order, and each programme's area."""

    def __init__(self, session: Session) -> None:
        self.names = {
            a.id: (a.code, a.name)
            for a in session.scalars(select(MedicalArea).order_by(MedicalArea.position, MedicalArea.id))
        }
        self.order = {area_id: n for n, area_id in enumerate(self.names)}
        self.of_programme: dict[int, int] = dict(session.execute(select(Programme.id, Programme.area_id)).all())
        self.by_code = {code: area_id for area_id, (code, _) in self.names.items()}

    def lines(self, received: dict[int, int], given: dict[int, int] | None) -> list[CrossAreaLine]:
        """One line per other area (None given: 応援 not shown)."""
        ids = sorted({*received, *(given or {})}, key=lambda a: self.order.get(a, len(self.order)))
        return [
            CrossAreaLine(
                area_code=self.names[a][0],
                area_name=self.names[a][1],
                received=received.get(a, 0),
                given=None if given is None else given.get(a, 0),
            )
            for a in ids
        ]


def helped(areas: AreaNames, house_calls: Iterable[tuple[int, int, int]]) -> dict[int, dict[int, int]]:
    """{physician's area: {patient's area: house calls}} from (programme, visiting area, house calls)."""
    found: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for programme_id, visiting_area_id, calls in house_calls:
        patients_area = areas.of_programme[programme_id]
        if visiting_area_id != patients_area:
            found[visiting_area_id][patients_area] += calls
    return found


def combined(areas: AreaNames, sections: list[AreaSection], prefecture: bool) -> CrossArea:
    """A unit's cross-area house calls from its areas' sections: for the prefecture each area's own (every such
    house call received once and given once); otherwise summed by the other area."""
    received_total = sum(s.cross_area.received for s in sections)
    if prefecture:
        lines = [
            CrossAreaLine(
                area_code=s.area_code,
                area_name=s.area_name,
                received=s.cross_area.received,
                given=s.cross_area.given,
            )
            for s in sections
        ]
        return CrossArea(
            received=received_total, given=sum(s.cross_area.given or 0 for s in sections), by_area=lines
        )
    received: dict[int, int] = defaultdict(int)
    given: dict[int, int] = defaultdict(int)
    for s in sections:
        for line in s.cross_area.by_area:
            received[areas.by_code[line.area_code]] += line.received
            given[areas.by_code[line.area_code]] += line.given or 0
    shown = any(s.cross_area.given is not None for s in sections)
    return CrossArea(
        received=received_total,
        given=sum(given.values()) if shown else None,
        by_area=areas.lines(received, given if shown else None),
    )
