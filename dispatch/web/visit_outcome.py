"""The outcome part of the physician's details page: the hospitals to pick from, the form's values, and
the recorded outcome and death record in words."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from dispatch.cases.models import Case
from dispatch.clock import Clock
from dispatch.hospitals.service import hospitals, tonight
from dispatch.outcomes import service as outcomes
from dispatch.outcomes.schemas import OutcomeOut
from dispatch.programme.models import Programme


@dataclass
class OutcomePart:
    """The recorded outcome (or none yet), in words, and the form that records or corrects it."""

    recorded: OutcomeOut | None
    hospitals: list[tuple[int, str]]
    form: dict[str, Any]
    facts: list[tuple[str, str]] = field(default_factory=list)


def _local(at: datetime | None, tz: ZoneInfo) -> str:
    """A time as a datetime-local input's value, in the programme's zone."""
    return at.astimezone(tz).strftime("%Y-%m-%dT%H:%M") if at else ""


def outcome_part(session: Session, case: Case, *, clock: Clock, tz: ZoneInfo, t: dict[str, str]) -> OutcomePart:
    """The hospitals to pick from, the form's values (the recorded outcome, or now for a death's times), and
    the recorded outcome in words."""
    now = clock.now()
    programme = session.get(Programme, case.programme_id)
    free = {row.id: row.free for row in tonight(session, clock, programme)} if programme else {}
    choices = [
        (h.id, h.name + (t["visit.destination_free"].format(free=free[h.id]) if free.get(h.id) else ""))
        for h in hospitals(session, case.programme_id, active_only=True)
    ]
    recorded = outcomes.read(session, case.id)
    death = recorded.death if recorded else None
    kept = recorded.model_dump(mode="json") if recorded else {}
    form = {name: kept.get(name) or "" for name in ("outcome", "findings", "treatment", "medication")}
    form |= {
        "destination_hospital_id": kept.get("destination_hospital_id"),
        "destination_note": kept.get("destination_note") or "",
        "noticed_at": _local(death.noticed_at if death else now, tz),
        "confirmed_at": _local(death.confirmed_at if death else now, tz),
        "related": "" if death is None else str(death.related_to_treated_disease).lower(),
        "certificate_by": death.certificate_by.value if death else "",
        "police": "" if death is None else str(death.police_informed).lower(),
        "death_note": death.note or "" if death else "",
        "offset": now.astimezone(tz).isoformat()[-6:],  # +09:00, for the times the phone sends
    }
    part = OutcomePart(recorded, choices, form)
    if recorded is None:
        return part
    facts = [(t["visit.outcome"], t[f"visit.outcome.{recorded.outcome.value}"])]
    if recorded.destination_hospital_name or recorded.destination_note:
        facts.append(
            (t["visit.destination"], recorded.destination_hospital_name or recorded.destination_note or "")
        )
    facts += [
        (t[f"visit.{key}"], kept[key]) for key in ("findings", "treatment", "medication") if kept.get(key)
    ]
    if death is not None:
        yes_no = {True: t["visit.yes"], False: t["visit.no"]}
        facts += [
            (t["visit.noticed_at"], death.noticed_at.astimezone(tz).strftime("%m/%d %H:%M")),
            (t["visit.confirmed_at"], death.confirmed_at.astimezone(tz).strftime("%m/%d %H:%M")),
            (t["visit.related"], yes_no[death.related_to_treated_disease]),
            (t["visit.certificate_by"], t[f"visit.certificate.{death.certificate_by.value}"]),
            (t["visit.police"], t["visit.police_yes"] if death.police_informed else t["visit.police_no"]),
        ]
        if death.note:
            facts.append((t["visit.death_note"], death.note))
    facts.append(("", t["visit.saved_at"].format(at=recorded.recorded_at.astimezone(tz).strftime("%H:%M"))))
    part.facts = facts
    return part
