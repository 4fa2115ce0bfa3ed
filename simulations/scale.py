"""`python -m simulations scale`: a national-size data set in PostgreSQL (a million enrolled patients, ten
million past cases, 5,000 physicians on call, 200 cases waiting), then what an operator, the matching and
the prefecture's analyst would wait for on it, with the API and a worker running. The last line printed is
one JSON object with every figure."""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import text

from dispatch import embedded
from dispatch.db import make_engine
from dispatch.programme.periods import fiscal_year_of
from simulations import scale_build
from simulations import scale_measure as measure
from simulations.scale_areas import API_PROGRAMME, PASSWORD
from simulations.scale_build import FAMILY, GIVEN, Sizes


def counts(database_url: str, at: datetime) -> dict[str, int]:
    """What the database holds: past cases, enrolled patients, physicians on call at `at`, cases waiting."""
    engine = make_engine(database_url)
    with engine.connect() as conn:
        row = conn.execute(
            text(
                """
                SELECT (SELECT count(*) FROM "case" WHERE closed_at IS NOT NULL OR state = 'cancelled'),
                    (SELECT count(DISTINCT patient_id) FROM enrolment WHERE ended_on IS NULL),
                    (SELECT count(DISTINCT physician_id) FROM shift WHERE starts_at <= :at AND ends_at > :at),
                    (SELECT count(*) FROM "case" WHERE state = 'dispatching' AND current_offer_id IS NULL)
                """
            ),
            {"at": at},
        ).one()
    engine.dispose()
    return dict(zip(("cases", "patients", "physicians_on_call", "waiting_cases"), row, strict=True))


def forget_report_months(database_url: str) -> None:
    """Empty the reports' cache of ended months, so that the next report counts them afresh (cold)."""
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM report_month"))
    engine.dispose()


def run(
    database_url: str,
    redis_url: str | None,
    sizes: Sizes,
    searches: int = 200,
    intakes: int = 100,
    rounds: int = 20,
    reuse: bool = False,
    say: Callable[[str], None] = print,
) -> dict:
    """Build the data set, start the stack on it, measure; returns the figures."""
    now = datetime.now(UTC)
    what = "sizes" if reuse else "building"
    say(
        f"{what} {sizes.patients:,} patients, {sizes.cases:,} cases, {sizes.physicians:,} physicians on call, "
        f"{sizes.waiting} cases waiting, in {sizes.areas} areas"
    )
    if reuse:
        say("measuring the data set an earlier run built")
        built = scale_build.reuse(database_url, now)
    else:
        built = scale_build.build(database_url, sizes, now, say=say)
        say(f"built in {built['build_s']} s (the reports' cache warmed in {built['warm_s']} s of it)")
    held = counts(database_url, datetime.now(UTC))
    embedded_redis = None
    if redis_url is None:
        embedded_redis = embedded.start_redis()
        redis_url = embedded_redis.url
    running = measure.start(database_url, redis_url)
    rng = random.Random(18)
    try:
        operator = measure.client(running.url, "scale-operator", PASSWORD.format("operator"))
        analyst = measure.client(running.url, "scale-analyst", PASSWORD.format("analyst"))
        family, given = FAMILY.split()[1::2], GIVEN.split()[1::2]
        queries = measure.search_queries(rng, searches, sizes.patients, family, given)
        load = [os.getloadavg()[0]]
        cpu = measure.cpu_s(running.api.pid)
        by_kind = measure.searches(operator, queries)
        search_cpu = (measure.cpu_s(running.api.pid) - cpu) / (searches + measure.SEARCH_WARM_UP)
        say("searched: " + ", ".join(f"{k} {measure.percentiles(v)}" for k, v in by_kind.items()))
        cpu = measure.cpu_s(running.api.pid)
        intake = measure.intakes(operator, rng, intakes, sizes.patients)
        intake_cpu = (measure.cpu_s(running.api.pid) - cpu) / (intakes + measure.INTAKE_WARM_UP)
        say(f"intake: {measure.percentiles(intake)}")
        matching, offers = measure.matching_rounds(database_url, rounds)
        say(f"matching round: {measure.percentiles(matching)}, {offers} offers each")
        year = fiscal_year_of(now.date()) - 1  # the last whole fiscal year
        reports = {}
        for unit, params in (("prefecture", {"scope": "prefecture"}), ("area", {"area": API_PROGRAMME})):
            # Each report's first request counts every month afresh (the cache of ended months emptied),
            # the next two read them from the cache.
            forget_report_months(database_url)
            reports[unit, "fy"] = measure.report(
                analyst, "/api/v1/reports/clinics", {"fiscal_year": year, **params}
            )
            forget_report_months(database_url)
            reports[unit, "monthly"] = measure.report(
                analyst, "/api/v1/reports/monthly", {"from": f"{year}-04", "to": f"{year + 1}-03", **params}
            )
            say(
                f"{unit} FY{year} report: {[round(t, 3) for t in reports[unit, 'fy']]} s; "
                f"monthly: {[round(t, 3) for t in reports[unit, 'monthly']]} s (first: cold)"
            )
        fy, monthly = reports["prefecture", "fy"], reports["prefecture", "monthly"]
        worker_round_s = measure.worker_round(database_url, redis_url)
        say(f"the worker's own round over the waiting cases, offers sent: {worker_round_s:.2f} s")
        api_rss, worker_rss = measure.rss_mb(running.api.pid), measure.rss_mb(running.worker.pid)
        load.append(os.getloadavg()[0])
    finally:
        running.stop()
        if embedded_redis is not None:
            embedded_redis.stop()
    every_search = [t for timings in by_kind.values() for t in timings]
    return {
        **held,
        "search_ms": measure.percentiles(every_search),
        "intake_ms": measure.percentiles(intake),
        "matching_round_ms": measure.percentiles(matching),
        "fy_report_s": round(statistics.median(fy), 3),
        "monthly_report_s": round(statistics.median(monthly), 3),
        "api_rss_mb": api_rss,
        "worker_rss_mb": worker_rss,
        "build_s": built["build_s"],
        "warm_s": built["warm_s"],  # of build_s: the reports' ended months counted, as the first cron run would
        "search_by_kind_ms": {kind: measure.percentiles(timings) for kind, timings in by_kind.items()},
        # The API process's own CPU a request (the machine's load moves it less than the wall-clock times).
        "api_cpu_ms_per_call": {"search": round(search_cpu * 1000, 2), "intake": round(intake_cpu * 1000, 2)},
        "load_average_1m": [round(x, 1) for x in load],  # when the measurements began and ended
        "offers_per_round": offers,
        "report_fiscal_year": year,
        "fy_report_first_s": round(fy[0], 3),
        "monthly_report_first_s": round(monthly[0], 3),
        "area_fy_report_s": round(statistics.median(reports["area", "fy"]), 3),
        "area_monthly_report_s": round(statistics.median(reports["area", "monthly"]), 3),
        "area_fy_report_first_s": round(reports["area", "fy"][0], 3),
        "area_monthly_report_first_s": round(reports["area", "monthly"][0], 3),
        "report_area": API_PROGRAMME,
        "worker_round_s": round(worker_round_s, 2),
        "build_steps_s": built["steps_s"],
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
