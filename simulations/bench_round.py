"""How fast is one matching round on a disaster night at scale? Builds, in PostgreSQL with set-based SQL, the
prefecture's nine areas with a programme each, thousands of physicians on call tonight (each for some towns
of their own area), a few hundred thousand past visits (so each physician's whereabouts are looked up as in
production), some physicians busy or answering an offer, and the cases waiting at once; then times
`dispatch.flow.rounds.match_round` over them: the SQL, the policy and writing every offer, its event and its
SMS (flushed, then rolled back so each round meets the same night). Prints the figures."""

from __future__ import annotations

import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text

from dispatch import schema
from dispatch.clock import ManualClock
from dispatch.db import make_engine, make_session_factory, unit_of_work
from dispatch.flow import rounds
from dispatch.matching import areas, candidates
from dispatch.matching.policy import urgency_weighted_travel
from dispatch.matching.travel import StraightLineEstimate
from dispatch.runtime import freeze_startup_objects
from dispatch.seed.prefecture import load_prefecture_data, seed_prefecture
from simulations.stack import ensure_database

TICK_S = 1 / os.sysconf("SC_CLK_TCK")
# Tonight, as the data set has it (a Wednesday, 23:00 in Tokyo).
NOW = datetime(2025, 1, 15, 14, 0, tzinfo=UTC)
POLICY = (
    '{"offer_timeout_s": {"red": 180, "orange": 180, "yellow": 300, "green": 300, "white": 300}, '
    '"offers_before_coordinator_alert": 3, "call_after_s": 90, "coordinator_alert_call": false}'
)
PROGRAMMES = """
INSERT INTO programme (code, name, prefecture, area_id, timezone, starts_on, swaps_need_approval, min_on_call)
SELECT code, name || '（ベンチ）', prefecture, id, 'Asia/Tokyo', DATE '2023-04-01', true, 1 FROM medical_area
"""
TOWNS = "CREATE TEMP TABLE bench_town AS SELECT row_number() OVER (ORDER BY id) AS k, * FROM municipality"
PHYSICIANS = """
INSERT INTO physician (name, role, phone_e164, base_municipality_id, base_latitude, base_longitude, active,
    contact, shift_reminders)
SELECT 'ベンチ医師' || n, 'substitute', '+8170' || lpad(n::text, 8, '0'), t.id,
    t.latitude + (random() - 0.5) * 0.06, t.longitude + (random() - 0.5) * 0.06, true, 'sms_only', false
FROM generate_series(1, :physicians) AS n
JOIN bench_town AS t ON t.k = 1 + n % (SELECT count(*) FROM bench_town)
"""
SHIFTS = """
INSERT INTO shift (physician_id, starts_at, ends_at, note, generated, published, overridden, removed)
SELECT id, :now - interval '2 hours', :now + interval '10 hours', 'bench', false, true, false, false
FROM physician WHERE name LIKE 'ベンチ医師%'
"""
# Each shift covers its physician's base town and about two in five of the other towns of that area.
COVERAGE = """
INSERT INTO shift_coverage (shift_id, municipality_id)
SELECT s.id, m.id FROM shift AS s
JOIN physician AS p ON p.id = s.physician_id
JOIN municipality AS base ON base.id = p.base_municipality_id
JOIN municipality AS m ON m.area_id = base.area_id
WHERE m.id = base.id OR random() < 0.4
"""
PATIENTS = """
INSERT INTO patient (family_name, given_name, family_name_kana, given_name_kana, name_kana_key, date_of_birth,
    sex, address, municipality_id, latitude, longitude, diagnoses, acp, devices, key_person)
SELECT 'ベンチ', '患者' || n, 'ベンチ', 'カンジャ', 'ベンチカンジャ', DATE '1940-01-01', 'unknown',
    '（ベンチ）', t.id,
    t.latitude + (random() - 0.5) * 0.05, t.longitude + (random() - 0.5) * 0.05, '[]', '{}', '[]', '{}'
FROM generate_series(1, :patients) AS n
JOIN bench_town AS t ON t.k = 1 + (n * 7) % (SELECT count(*) FROM bench_town)
"""
# Past visits over the year before tonight; then tonight's (the physicians' whereabouts), written last as
# they would have been.
PAST = """
INSERT INTO "case" (programme_id, patient_id, state, version, municipality_id, called_at, in_service_hours,
    service_hours_rule_version, in_contract, intake, escalation_policy, disposition, urgency,
    assigned_physician_id, decided_at, accepted_at, arrived_at, created_at, updated_at, closed_at)
SELECT pr.id, pa.id, 'closed', 1, pa.municipality_id, a.at - interval '40 minutes', true, 1, true, '{}', '{}',
    'visit_standard', 'yellow', ph.id, a.at - interval '30 minutes', a.at - interval '25 minutes', a.at,
    a.at, a.at, a.at + interval '1 hour'
FROM generate_series(CAST(1 AS bigint), :past) AS n
CROSS JOIN LATERAL (SELECT CASE WHEN :tonight THEN :now - interval '7 hours' + n * (interval '7 hours' / :past)
                                ELSE :now - interval '24 hours' - random() * interval '365 days' END AS at) AS a
JOIN patient AS pa ON pa.id = 1 + (n * 7919) % :patients
JOIN municipality AS m ON m.id = pa.municipality_id
JOIN programme AS pr ON pr.area_id = m.area_id
JOIN physician AS ph ON ph.id = 1 + (n * 7) % :physicians
"""
# Cases now open: physicians on the way to one (busy), cases offered and waiting for an answer, and the
# cases waiting for a physician that the round is timed on.
OPEN = """
INSERT INTO "case" (programme_id, patient_id, state, version, municipality_id, called_at, in_service_hours,
    service_hours_rule_version, in_contract, intake, escalation_policy, disposition, urgency,
    assigned_physician_id, decided_at, created_at, updated_at)
SELECT pr.id, pa.id, CAST(:state AS varchar), 1, pa.municipality_id, :now - interval '30 minutes', true, 1,
    true, '{}',
    CAST(:policy AS json), 'visit_urgent', (ARRAY['red', 'orange', 'yellow', 'green'])[1 + n % 4],
    CASE WHEN CAST(:state AS varchar) = 'en_route' THEN :first + n END, :now - (n % 20) * interval '1 minute',
    :now, :now
FROM generate_series(1, :count) AS n
JOIN patient AS pa ON pa.id = 1 + (n * 131 + :salt) % :patients
JOIN municipality AS m ON m.id = pa.municipality_id
JOIN programme AS pr ON pr.area_id = m.area_id
"""
OFFERS = """
INSERT INTO offer (case_id, physician_id, attempt, state, manual, estimated_travel_min, created_at, deadline_at,
    link_generation)
SELECT c.id, :first + row_number() OVER (ORDER BY c.id), 1, 'pending', false, 20, :now,
    :now + interval '3 min', 0
FROM "case" AS c WHERE c.state = 'offered'
"""
CURRENT = """UPDATE "case" AS c SET current_offer_id = o.id FROM offer AS o WHERE o.case_id = c.id"""


def build(database_url: str, physicians: int, waiting: int, past: int, patients: int) -> float:
    """Wipe the database and build the night; returns the seconds it took."""
    ensure_database(database_url)
    engine = make_engine(database_url)
    if engine.dialect.name != "postgresql":
        raise SystemExit("the round benchmark needs PostgreSQL: set DATABASE_URL=postgresql+psycopg://...")
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    schema.upgrade(database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        seed_prefecture(session, load_prefecture_data("chiba"))
    busy, offered = physicians // 20, physicians // 50
    tonight = physicians // 2  # visits so far tonight: one physician in two has been out
    at = {"now": NOW, "physicians": physicians, "patients": patients}
    with engine.begin() as conn:
        conn.execute(text("SELECT setseed(0.18)"))
        conn.execute(text(PROGRAMMES))
        conn.execute(text(TOWNS))
        conn.execute(text(PHYSICIANS), at)
        conn.execute(text(SHIFTS), at)
        conn.execute(text(COVERAGE))
        conn.execute(text(PATIENTS), at)
        conn.execute(text(PAST), at | {"past": past, "tonight": False})
        conn.execute(text(PAST), at | {"past": tonight, "tonight": True})
        common = at | {"policy": POLICY}
        conn.execute(text(OPEN), common | {"state": "en_route", "count": busy, "first": 0, "salt": 1})
        conn.execute(text(OPEN), common | {"state": "offered", "count": offered, "first": 0, "salt": 2})
        conn.execute(text(OFFERS), at | {"first": busy})
        conn.execute(text(CURRENT))
        conn.execute(text(OPEN), common | {"state": "dispatching", "count": waiting, "first": 0, "salt": 3})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered) * 1000, 1), "p99": round(p99 * 1000, 1)}


def _server_cpu_s(pid: int) -> float | None:
    """CPU seconds so far of a PostgreSQL backend on this machine (None: not here to read)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * TICK_S


def _vacuum(engine: Engine) -> None:
    """Clear what the rolled-back round left (dead index entries each next round's inserts would wade
    through: committed, they would have been live rows, and autovacuum would clear them in time)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text('VACUUM offer, sms_message, case_event, "case"'))


def time_rounds(database_url: str, repeats: int) -> dict:
    """Time `repeats` rounds over the same night (each rolled back): the wall clock, and the CPU the round
    took in this process and in its PostgreSQL backend (what the round costs on a machine others share);
    then the round's parts, once more each."""
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    clock = ManualClock(NOW)
    totals: list[float] = []
    cpu: list[float] = []
    offered = 0
    for n in range(repeats + 2):  # the first two warm the caches and the statements up
        if n == 2:
            freeze_startup_objects()  # as a worker does once it has started
        with factory() as session:
            backend = session.scalar(text("SELECT pg_backend_pid()"))
            server, client = _server_cpu_s(backend), time.process_time()
            started = time.perf_counter()
            messages = rounds.match_round(session, clock)
            session.flush()
            totals.append(time.perf_counter() - started)
            after = _server_cpu_s(backend)
            if server is not None and after is not None:
                cpu.append(time.process_time() - client + after - server)
            offered = len(messages)
            session.rollback()
        _vacuum(engine)
    parts: dict[str, list[float]] = {"waiting": [], "physicians": [], "policy": []}
    with factory() as session:
        for _ in range(repeats):
            t0 = time.perf_counter()
            rules = areas.area_rules(session)
            found = candidates.waiting_cases(session, rules, True)
            t1 = time.perf_counter()
            towns, town_area = candidates.towns_for(session, found)
            physicians, _phones = candidates.available_physicians(session, NOW, towns, town_area)
            t2 = time.perf_counter()
            urgency_weighted_travel([w.view for w in found], physicians, StraightLineEstimate())
            t3 = time.perf_counter()
            parts["waiting"].append(t1 - t0)
            parts["physicians"].append(t2 - t1)
            parts["policy"].append(t3 - t2)
            session.rollback()
    engine.dispose()
    figures = {
        "offers_per_round": offered,
        "physicians_loaded": len(physicians),
        "round_ms": _ms(totals[2:]),
        "parts_ms_p50": {name: _ms(samples)["p50"] for name, samples in parts.items()},
    }
    if len(cpu) > 2:
        figures["round_cpu_ms"] = _ms(cpu[2:])
    return figures


def run(database_url: str, physicians: int, waiting: int, past: int, patients: int, repeats: int) -> dict:
    """Build the night, then time the round; the figures as one dict."""
    build_s = build(database_url, physicians, waiting, past, patients)
    figures = time_rounds(database_url, repeats)
    return {
        "physicians_on_call": physicians,
        "waiting_cases": waiting,
        "past_cases": past,
        "build_s": round(build_s, 1),
        **figures,
    }
