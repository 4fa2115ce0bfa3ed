"""Build the national data set in an expendable PostgreSQL database: migrate, make the areas and users,
then fill every table server-side (`simulations.scale_sql`) with the secondary indexes dropped and made
again after, and VACUUM ANALYZE (as autovacuum would have done long ago on a live table)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from config.settings import Settings
from dispatch import schema
from dispatch.cases.intake import escalation_policy
from dispatch.db import make_engine, make_session_factory, unit_of_work
from dispatch.patients.kana import name_key
from dispatch.reports import warm
from simulations import scale_sql as sql
from simulations.scale_areas import make_areas, make_users
from simulations.stack import ensure_database

FAMILY = """
佐藤 サトウ 鈴木 スズキ 高橋 タカハシ 田中 タナカ 伊藤 イトウ 渡辺 ワタナベ 山本 ヤマモト
中村 ナカムラ 小林 コバヤシ 加藤 カトウ 吉田 ヨシダ 山田 ヤマダ 佐々木 ササキ 山口 ヤマグチ
松本 マツモト 井上 イノウエ 木村 キムラ 林 ハヤシ 斎藤 サイトウ 清水 シミズ 山崎 ヤマザキ
森 モリ 阿部 アベ 池田 イケダ 橋本 ハシモト 山下 ヤマシタ 石川 イシカワ 中島 ナカジマ
前田 マエダ 藤田 フジタ 小川 オガワ 後藤 ゴトウ 岡田 オカダ 長谷川 ハセガワ 村上 ムラカミ
近藤 コンドウ 石井 イシイ 坂本 サカモト 遠藤 エンドウ 青木 アオキ 藤井 フジイ 西村 ニシムラ
福田 フクダ 太田 オオタ 三浦 ミウラ 藤原 フジワラ 岡本 オカモト 松田 マツダ 中川 ナカガワ
京極 キョウゴク 印旛 インバ 野口 ノグチ 菊地 キクチ 千葉 チバ
"""
GIVEN = """
太郎 タロウ 花子 ハナコ 一郎 イチロウ 良子 ヨシコ 和夫 カズオ 恵子 ケイコ 博 ヒロシ
裕子 ユウコ 正雄 マサオ 京子 キョウコ 修平 シュウヘイ 千代 チヨ 純 ジュン 敏江 トシエ
清 キヨシ 幸子 サチコ 茂 シゲル 節子 セツコ 勇 イサム 美代子 ミヨコ 進 ススム
和子 カズコ 実 ミノル 久子 ヒサコ 昭 アキラ 文子 フミコ 武 タケシ 静江 シズエ
明 アキラ 照子 テルコ
"""
DIAGNOSES = [
    "心不全",
    "COPD",
    "認知症",
    "脳梗塞後遺症",
    "悪性腫瘍（末期）",
    "パーキンソン病",
    "慢性腎不全",
    "老衰",
]
COMPLAINTS = [
    "発熱",
    "呼吸が苦しい",
    "意識がはっきりしない",
    "転倒した",
    "痛みが強い",
    "食事がとれない",
    "呼吸が止まった",
]
INTAKE = {
    "onset": "30分前から",
    "consciousness": "alert",
    "breathing": "normal",
    "pain_score": 3,
    "vitals": {"temperature_c": 37.8, "spo2_percent": 94, "pulse_bpm": 96, "systolic_bp": 128},
    "attending_unavailable": "no_answer",
    "attending_unavailable_note": None,
}
# Filled in bulk: their secondary indexes are dropped first and made again after.
BULK_TABLES = ["patient", "enrolment", "physician", "shift", "shift_coverage", "case", "visit_outcome", "offer"]
BULK_TABLES += ["case_event"]


@dataclass(frozen=True)
class Sizes:
    patients: int
    cases: int
    physicians: int
    waiting: int
    areas: int = 50
    roster_nights: int = 30  # past nights of shifts kept on the roster (the shift index walks them)


def _pairs(text_block: str) -> tuple[list[str], list[str]]:
    words = text_block.split()
    kanji, kana = words[0::2], words[1::2]
    assert all(name_key(k, None) == k for k in kana), "kana must be folded already (kana.name_key)"
    return kanji, kana


def _wipe(database_url: str) -> None:
    ensure_database(database_url)
    engine = make_engine(database_url)
    if engine.dialect.name != "postgresql":
        raise SystemExit("the scale run needs PostgreSQL: --database-url postgresql+psycopg://...")
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def build(database_url: str, sizes: Sizes, now: datetime, say: Callable[[str], None] = print) -> dict:
    """Wipe and fill the database; returns what the measurements need (logins, waiting case ids, …)."""
    started = time.perf_counter()
    _wipe(database_url)
    schema.upgrade(database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        areas, first_day = make_areas(session, sizes.areas, sizes.patients, sizes.physicians, now)
        make_users(session)
    steps = Steps(say)
    with engine.connect() as conn:
        # A bulk load: no foreign-key triggers (every id is made here, by arithmetic), no waiting on fsync.
        conn.execute(text("SET session_replication_role = replica"))
        conn.execute(text("SET synchronous_commit = off"))
        conn.execute(text("SET work_mem = '256MB'"))
        conn.execute(text("SET maintenance_work_mem = '1GB'"))
        dropped = list(conn.execute(text(sql.SECONDARY_INDEXES), {"tables": BULK_TABLES}))
        for name, _ in dropped:
            conn.execute(text(f'DROP INDEX "{name}"'))
        conn.execute(text(sql.AREA_TABLE))
        conn.execute(
            text(
                "INSERT INTO scale_area VALUES (:programme_id, :area_id, :town_ids, :town_lat, :town_lon, "
                ":clinic_ids, :patient_lo, :patients, :physician_lo, :physicians)"
            ),
            [vars(a) for a in areas],
        )
        conn.commit()
        _fill(conn, sizes, steps, now, first_day)
        for name, ddl in dropped:
            steps.run(conn, f"index {name}", ddl)
        conn.execute(text("DROP TABLE scale_area"))
        conn.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        steps.run(conn, "vacuum analyze", "VACUUM (ANALYZE)")
    # As a deployment's first cron run would: the reports' ended months of this and last fiscal year counted.
    warming = time.perf_counter()
    warm.warm(factory, now)
    warm_s = round(time.perf_counter() - warming, 1)
    say(f"  reports' cache warmed: {warm_s} s")
    engine.dispose()
    return {"build_s": round(time.perf_counter() - started, 1), "warm_s": warm_s, "steps_s": steps.took}


def reuse(database_url: str, now: datetime) -> dict:
    """Make a data set built earlier ready to measure again: tonight's shifts around `now`, the waiting cases
    waiting again (no build, so no build time)."""
    schema.upgrade(database_url)  # a data set built before the newest migrations
    engine = make_engine(database_url)
    with engine.begin() as conn:
        for statement in sql.REUSE:
            conn.execute(text(statement), {"now": now})
    engine.dispose()
    return {"build_s": None, "warm_s": None, "steps_s": {}}


class Steps:
    """Runs one statement at a time, keeping (and saying) how long each took."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say, self.took = say, {}

    def run(self, conn: Connection, name: str, statement: str, params: dict | None = None) -> None:
        t0 = time.perf_counter()
        result = conn.execute(text(statement), params or {})
        conn.commit()
        self.took[name] = round(time.perf_counter() - t0, 1)
        rows = f" ({result.rowcount:,} rows)" if result.rowcount and result.rowcount > 0 else ""
        self.say(f"  {name}: {self.took[name]} s{rows}")


def _fill(conn: Connection, sizes: Sizes, steps: Steps, now: datetime, first_day: date) -> None:
    fam, fam_kana = _pairs(FAMILY)
    giv, giv_kana = _pairs(GIVEN)
    names = {"fam": fam, "fam_kana": fam_kana, "giv": giv, "giv_kana": giv_kana, "nf": len(fam), "ng": len(giv)}
    steps.run(conn, "patients", sql.PATIENTS, {**names, "dx": DIAGNOSES})
    steps.run(conn, "enrolments", sql.ENROLMENTS, {"first": first_day})
    steps.run(conn, "physicians", sql.PHYSICIANS)
    tonight = {"start": now - timedelta(hours=1), "nights": sizes.roster_nights, "physicians": sizes.physicians}
    steps.run(conn, "shifts", sql.SHIFTS, tonight)
    steps.run(conn, "shift coverage", sql.SHIFT_COVERAGE)
    tokyo = ZoneInfo("Asia/Tokyo")
    # Night calls from 18:00 on the first day to 08:00 this morning (local): `days` nights of 14 hours.
    first_night = datetime.combine(first_day, datetime.min.time(), tokyo) + timedelta(hours=18)
    days = (now.astimezone(tokyo).date() - first_day).days - 1
    documents = {
        "intake": json.dumps(INTAKE, ensure_ascii=False),
        "policy": json.dumps(escalation_policy(Settings(_env_file=None))),
    }
    cases = {
        **documents,
        "cases": sizes.cases,
        "patients": sizes.patients,
        "first": first_night.astimezone(UTC),
        "days": days,
        "complaints": COMPLAINTS,
        "ncomplaints": len(COMPLAINTS),
    }
    steps.run(conn, "cases", sql.CASES, cases)
    steps.run(conn, "visit outcomes", sql.OUTCOMES)
    steps.run(conn, "offers", sql.OFFERS)
    steps.run(conn, "case events", sql.EVENTS)
    waiting = {
        **documents,
        "base": sizes.cases,
        "waiting": sizes.waiting,
        "patients": sizes.patients,
        "now": now,
    }
    steps.run(conn, "waiting cases", sql.WAITING, waiting)
    for table in ("patient", "enrolment", "physician", "shift", "case"):
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))"
            )
        )
    conn.commit()
