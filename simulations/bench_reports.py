"""How fast is the prefecture's fiscal-year report over a million cases? Builds them in PostgreSQL with
set-based SQL (generate_series), then times the report the API serves. Prints the figures."""

from __future__ import annotations

import statistics
import time
from datetime import date

from sqlalchemy import insert, select, text

from dispatch import schema
from dispatch.db import make_engine, make_session_factory, unit_of_work
from dispatch.patients.models import Patient, Sex
from dispatch.programme.models import Municipality, Programme
from dispatch.reports import service
from dispatch.seed.reference import load_programme_data, seed_reference
from simulations.stack import ensure_database

FILL = """
INSERT INTO "case" (programme_id, patient_id, state, version, clinic_id, municipality_id, called_at,
    in_service_hours, service_hours_rule_version, in_contract, intake, escalation_policy, disposition, urgency,
    created_at, updated_at)
SELECT :programme, :patient, s.state, 1, c.ids[1 + (n % array_length(c.ids, 1))],
    m.ids[1 + (n % array_length(m.ids, 1))], t.at, true, 1, (n % 50) <> 0, '{}', '{}', s.disposition, 'yellow',
    t.at, t.at
FROM generate_series(1, :cases) AS n
CROSS JOIN (SELECT array_agg(id) AS ids FROM clinic) AS c
CROSS JOIN (SELECT array_agg(id) AS ids FROM municipality) AS m
CROSS JOIN LATERAL (SELECT timestamptz '2019-04-01 00:00+09' + (n * interval '1 minute') * 7.3 AS at) AS t
CROSS JOIN LATERAL (SELECT CASE WHEN n % 3 = 0 THEN 'closed' ELSE 'closed_consultation' END AS state,
                           CASE WHEN n % 3 = 0 THEN 'visit_standard' ELSE 'advice_only' END AS disposition) AS s
"""
OUTCOMES = """
INSERT INTO visit_outcome (case_id, outcome, recorded_by, recorded_at)
SELECT id, CASE WHEN id % 4 = 0 THEN 'death_pronounced' ELSE 'treated_at_home' END, 'bench', called_at
FROM "case" WHERE state = 'closed'
"""


def run(database_url: str, cases: int, repeats: int = 5) -> dict[str, float]:
    """Fill an empty database with `cases` cases over ~14 years, then time the FY2024 report."""
    if not database_url.startswith("postgresql"):
        raise SystemExit("the report benchmark needs PostgreSQL: set DATABASE_URL=postgresql+psycopg://...")
    ensure_database(database_url)
    engine = make_engine(database_url)
    if engine.dialect.name != "postgresql":
        raise SystemExit("the report benchmark needs PostgreSQL: set DATABASE_URL=postgresql+psycopg://...")
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    schema.upgrade(database_url)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        programme = seed_reference(session, load_programme_data("inba"))
        programme_id = programme.id
        # Calls count only about an identified patient: one fictional patient stands for them all.
        patient_id = session.scalar(
            insert(Patient)
            .values(
                family_name="試験",
                given_name="一",
                family_name_kana="シケン",
                given_name_kana="イチ",
                date_of_birth=date(1940, 1, 1),
                sex=Sex.unknown,
                address="（試験データ）",
                municipality_id=session.scalar(select(Municipality.id).limit(1)),
                diagnoses=[],
                acp={},
                devices=[],
                key_person={},
            )
            .returning(Patient.id)
        )
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text(FILL), {"programme": programme_id, "patient": patient_id, "cases": cases})
        conn.execute(text(OUTCOMES))
        conn.execute(text('ANALYZE "case"'))
        conn.execute(text("ANALYZE visit_outcome"))
    build_s = time.perf_counter() - started
    timings = []
    with factory() as session:
        programme = session.scalar(select(Programme))
        for _ in range(repeats):
            t0 = time.perf_counter()
            report = service.clinic_report(session, programme, 2024)
            timings.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        service.monthly_report(session, programme, date(2024, 4, 1), date(2025, 3, 1))
        monthly_s = time.perf_counter() - t0
    engine.dispose()
    return {
        "cases": cases,
        "build_s": round(build_s, 1),
        "fy_report_first_s": round(timings[0], 3),
        "fy_report_median_s": round(statistics.median(timings), 3),
        "monthly_fy2024_s": round(monthly_s, 3),
        "fy2024_cases_counted": report.total.house_calls + (report.total.consultations or 0),
    }
