"""The reports' cache against a change committed while a report counts: whichever way the two interleave, the
next report shows the change (a stale month is never kept), and neither side waits for long."""

from __future__ import annotations

import os
import threading
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from dispatch.clinics.models import Clinic
from dispatch.db import unit_of_work
from dispatch.outcomes.models import OutcomeCode
from dispatch.programme.models import Municipality, Programme
from dispatch.reports import counting, monthly, months, service, units
from tests.factories import insert_case

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="the cache of ended months is PostgreSQL's",
)
TOKYO = ZoneInfo("Asia/Tokyo")
DECEMBER = "2024-12"
AMEND = "UPDATE visit_outcome SET outcome = 'death_pronounced' WHERE case_id = :id"


@pytest.fixture
def december(services, demo_areas) -> tuple[int, int]:
    """(印旛's programme id, a house call of December 2024 at D病院, treated at home)."""
    with unit_of_work(services.session_factory) as session:
        inba = session.scalar(select(Programme.id).where(Programme.code == "inba"))
        case_id = insert_case(
            session,
            programme_id=inba,
            clinic_id=session.scalar(select(Clinic.id).where(Clinic.label == "D病院")),
            municipality_id=session.scalar(select(Municipality.id).where(Municipality.name == "成田市")),
            called_at=datetime(2024, 12, 3, 23, tzinfo=TOKYO),
            outcome=OutcomeCode.treated_at_home,
        )
    assert inba is not None
    return inba, case_id


def _deaths(services, inba: int) -> int:
    """印旛's end-of-life calls of December as the next report reads them (cache or count)."""
    with unit_of_work(services.session_factory) as session:
        found = months.counted(session, "tallies", [inba], [DECEMBER])
        return sum(group[-1] for group in found[inba, DECEMBER])


def test_a_change_committed_after_the_report_counted_shows_in_the_next_report(services, december, monkeypatch):
    inba, case_id = december
    original = counting.calls_by_category

    def count_then_change(*args, **kwargs):
        rows = list(original(*args, **kwargs))  # the report's snapshot is taken: the change is not in it
        with unit_of_work(services.session_factory) as other:
            other.execute(text(AMEND), {"id": case_id})
        return rows

    monkeypatch.setattr(counting, "calls_by_category", count_then_change)
    with unit_of_work(services.session_factory) as report:
        found = months.counted(report, "tallies", [inba], [DECEMBER])
        assert sum(group[-1] for group in found[inba, DECEMBER]) == 0  # counted before the change
    monkeypatch.setattr(counting, "calls_by_category", original)
    assert _deaths(services, inba) == 1


def test_a_change_in_flight_while_the_report_keeps_shows_once_it_commits(services, december):
    inba, case_id = december
    change = services.session_factory()
    try:
        change.execute(text(AMEND), {"id": case_id})  # its triggers have run; it has not committed
        started = time.monotonic()
        with unit_of_work(services.session_factory) as report:
            months.counted(report, "tallies", [inba], [DECEMBER])
        assert time.monotonic() - started < 5  # the report did not wait for the change
        change.commit()
    finally:
        change.close()
    assert _deaths(services, inba) == 1


def test_a_change_waits_for_a_keeping_report_then_forgets_what_it_kept(services, december):
    inba, case_id = december
    report = services.session_factory()
    done = threading.Event()

    def change() -> None:
        with unit_of_work(services.session_factory) as session:
            session.execute(text("SET LOCAL lock_timeout = '10s'"))
            session.execute(text(AMEND), {"id": case_id})
        done.set()

    try:
        months.counted(report, "tallies", [inba], [DECEMBER])
        months.store(report)  # the last step before commit: December's stamp held FOR SHARE
        worker = threading.Thread(target=change)
        worker.start()
        assert not done.wait(0.5)  # the change's stamp bump waits for the report
        report.commit()
        worker.join(timeout=10)
        assert done.is_set()
    finally:
        report.close()
    assert _deaths(services, inba) == 1


def test_a_clinic_renamed_while_the_monthly_report_counts_shows_renamed(services, december, monkeypatch):
    original = monthly.compute

    def compute_then_rename(*args, **kwargs):
        rows = original(*args, **kwargs)
        with unit_of_work(services.session_factory) as other:
            other.execute(text("UPDATE clinic SET label = 'D総合病院' WHERE label = 'D病院'"))
        return rows

    def by_clinic() -> set[str]:
        with unit_of_work(services.session_factory) as session:
            unit = units.resolve(session, default_code="inba", area="inba")
            first = date(2024, 12, 1)
            return set(service.unit_monthly_report(session, unit, first, first).months[0].by_clinic)

    monkeypatch.setattr(monthly, "compute", compute_then_rename)
    assert "D病院" in by_clinic()  # counted before the rename
    monkeypatch.setattr(monthly, "compute", original)
    assert "D総合病院" in by_clinic() and "D病院" not in by_clinic()
