"""How fast is the intake's kana search among 200,000 enrolled patients? Fills PostgreSQL with fictional
patients, then times the search service (with its audit entries) for kana prefixes as operators type them.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench python -m simulations.bench_search"""

from __future__ import annotations

import os
import random
import statistics
import time
from datetime import date

import jaconv
from sqlalchemy import insert, select, text

from dispatch import schema
from dispatch.auth.models import Role, User
from dispatch.auth.passwords import Passwords
from dispatch.clinics.models import Clinic
from dispatch.clock import SystemClock
from dispatch.db import make_engine, make_session_factory, unit_of_work
from dispatch.patients import service
from dispatch.patients.models import Enrolment, Patient, Sex
from dispatch.programme.models import Municipality
from dispatch.seed.demo import seed_demo
from dispatch.seed.reference import load_programme_data
from simulations.stack import ensure_database

NAMES = """
サトウ スズキ タカハシ タナカ イトウ ワタナベ ヤマモト ナカムラ コバヤシ カトウ ヨシダ ヤマダ ササキ
ヤマグチ マツモト イノウエ キムラ ハヤシ サイトウ シミズ ヤマザキ モリ アベ イケダ ハシモト ヤマシタ
イシカワ ナカジマ マエダ フジタ オガワ ゴトウ オカダ ハセガワ ムラカミ コンドウ イシイ サカモト
エンドウ アオキ フジイ ニシムラ フクダ オオタ ミウラ フジワラ オカモト マツダ ナカガワ キョウゴク
/ タロウ ハナコ イチロウ ヨシコ カズオ ケイコ ヒロシ ユウコ マサオ キョウコ シュウヘイ チヨ ジュン トシエ
"""
FAMILY, GIVEN = (part.split() for part in NAMES.split("/"))


def _fill(session, patients: int, rng: random.Random) -> None:
    towns = list(session.scalars(select(Municipality.id)))
    clinics = list(session.scalars(select(Clinic.id)))
    first = (session.scalar(select(Patient.id).order_by(Patient.id.desc()).limit(1)) or 0) + 1
    for start in range(0, patients, 20_000):
        ids = range(first + start, first + min(start + 20_000, patients))
        session.execute(
            insert(Patient),
            [
                dict(
                    id=i,
                    family_name="試験",
                    given_name=str(i),
                    family_name_kana=rng.choice(FAMILY),
                    given_name_kana=rng.choice(GIVEN),
                    date_of_birth=date(1925 + i % 70, 1 + i % 12, 1 + i % 28),
                    sex=Sex.female if i % 2 else Sex.male,
                    address="（試験データ）",
                    municipality_id=towns[i % len(towns)],
                    diagnoses=[],
                    acp={},
                    devices=[],
                    key_person={},
                )
                for i in ids
            ],
        )
        session.execute(
            insert(Enrolment),
            [
                dict(
                    patient_id=i,
                    clinic_id=clinics[i % len(clinics)],
                    clinic_patient_number=f"B-{i}",
                    enrolled_on=date(2024, 4, 1),
                    consent_given=False,
                )
                for i in ids
            ],
        )
    session.execute(
        text("SELECT setval(pg_get_serial_sequence('patient', 'id'), (SELECT max(id) FROM patient))")
    )


def _queries(rng: random.Random, n: int) -> list[str]:
    """What operators type, in hiragana: a family name's first kana, a whole name; and names no one has."""
    out = []
    for k in range(n):
        name = rng.choice(FAMILY) + rng.choice(GIVEN)
        typed = name[: (2, 3, len(name) - 2, len(name))[k % 4]]
        out.append("ノ" + typed if k % 10 == 9 else jaconv.kata2hira(typed))
    return out


def run(database_url: str, patients: int = 200_000, queries: int = 50) -> dict[str, float]:
    """Fill an empty database with `patients` enrolled patients, then time `queries` kana searches."""
    ensure_database(database_url)
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    schema.upgrade(database_url)
    factory = make_session_factory(engine)
    clock = SystemClock()
    rng = random.Random(16)
    started = time.perf_counter()
    with unit_of_work(factory) as session:
        seed_demo(session, load_programme_data("inba"), clock, Passwords(1024, 1), patients=True)
        _fill(session, patients, rng)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE patient"))
        conn.execute(text("ANALYZE enrolment"))
    build_s = time.perf_counter() - started
    timings, found = [], []
    with factory() as session:
        operator = session.scalars(select(User).where(User.role == Role.operator).limit(1)).one()
        for typed in _queries(rng, queries):
            t0 = time.perf_counter()
            matches = service.search(
                session,
                clock,
                operator,
                clinic_patient_number=None,
                household_phone=None,
                name_kana=typed,
                date_of_birth=None,
            )
            timings.append(time.perf_counter() - t0)
            found.append(len(matches))
            session.rollback()  # the audit entries of a timed search are not kept
    cuts = statistics.quantiles(timings, n=100, method="inclusive")
    return {
        "patients": patients,
        "build_s": round(build_s, 1),
        "queries": queries,
        "p50_ms": round(statistics.median(timings) * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
        "max_ms": round(max(timings) * 1000, 1),
        "matches_mean": round(statistics.mean(found), 1),
    }


if __name__ == "__main__":
    print(run(os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench")))
