"""A disaster night through the live stack: many calls in an hour across the areas of a table, triaged by
urgency; the physicians on call answer their offers, drive (as long as the system's own estimate for the
offer says), visit and free up, until everyone is seen or the morning. Run with cross-area backup on and
off, it shows what the neighbours' physicians do to call → arrival, per urgency colour."""

from __future__ import annotations

import heapq
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

from rq.registry import StartedJobRegistry

from dispatch import jobs
from dispatch.programme.periods import fiscal_year_days, fiscal_year_of, month_start
from dispatch.queue import QUEUE_NAME, dispatch_queue
from simulations import area_replay
from simulations.areas import ReplayArea
from simulations.plan import AREA, clinics
from simulations.replay import Replay

# The #7119 colours of a disaster night's calls: share, disposition, JTAS level. Green is advice by phone.
URGENCIES = (
    ("red", 0.10, "visit_urgent", 1),
    ("orange", 0.20, "visit_urgent", 2),
    ("yellow", 0.40, "visit_standard", 3),
    ("green", 0.30, "advice_follow_up_attending", 4),
)
TRIAGE = timedelta(minutes=4)
TICK = timedelta(minutes=1)


@dataclass(frozen=True)
class SurgeCall:
    number: int
    at: datetime
    area: str  # code
    clinic: str  # label
    urgency: str
    disposition: str
    jtas: int


@dataclass
class Night:
    """What the driver knows of each case and physician as the night goes on."""

    cases: dict[int, SurgeCall] = field(default_factory=dict)  # case id → its call
    links: dict[int, tuple[str, str]] = field(default_factory=dict)  # case id → (physician's phone, link)
    offers_seen: int = 0  # fake Twilio messages read so far
    replies_due: int = 0  # offers answered at a later tick
    declined: int = 0


def plan_calls(
    rows: list[dict[str, str]],
    start: datetime,
    calls: int,
    minutes: int,
    hit: str,
    hit_share: float,
    rng: random.Random,
) -> list[SurgeCall]:
    """`calls` calls at random instants of `minutes` from `start`: `hit_share` of them in area `hit`, the
    rest shared by the other areas; each at one of its area's clinics under contract that night."""
    month = start.astimezone(ZoneInfo("Asia/Tokyo")).date().replace(day=1)
    open_clinics: dict[str, list[str]] = {}
    for row in rows:
        if month_start(row["contract_start"]) <= month:
            open_clinics.setdefault(row[AREA], []).append(row["clinic_label"])
    others = [code for code in open_clinics if code != hit]
    colours = [u[0] for u in URGENCIES]
    weights = [u[1] for u in URGENCIES]
    planned = []
    for number in range(calls):
        area = hit if not others or rng.random() < hit_share else rng.choice(others)
        colour = rng.choices(colours, weights)[0]
        _, _, disposition, jtas = next(u for u in URGENCIES if u[0] == colour)
        at = start + timedelta(seconds=rng.randrange(minutes * 60))
        planned.append(SurgeCall(number, at, area, rng.choice(open_clinics[area]), colour, disposition, jtas))
    return sorted(planned, key=lambda c: c.at)


class Surge:
    def __init__(self, run: Replay, areas: list[ReplayArea], rng: random.Random, decline_rate: float) -> None:
        self.run, self.areas, self.rng, self.decline_rate = run, areas, rng, decline_rate
        self.night = Night()
        self.patients: dict[int, int] = {}  # call number → patient id
        self.events: list[tuple[datetime, int, str, object]] = []
        self.sequence = count()

    # -- setting up ------------------------------------------------------------------------------------
    def set_up(self, rows: list[dict[str, str]], calls: list[SurgeCall], on_call: dict[str, int]) -> None:
        """The night's clinics, a patient per call (living anywhere in the call's area) and each area's
        physicians on call all night for their area's towns."""
        run, start = self.run, calls[0].at
        run.set_clock(start - timedelta(hours=3))
        first_day, last_day = fiscal_year_days(fiscal_year_of(start.astimezone(ZoneInfo("Asia/Tokyo")).date()))
        listed = run.api("admin", "GET", "/api/v1/clinics").json()
        by_id = {c["id"]: c for c in listed}
        towns = run.api("admin", "GET", "/api/v1/programme").json()["municipalities"]
        known = {c["label"]: c for c in listed if c["municipality_id"] in {t["id"] for t in towns}}
        by_code = {a.code: a for a in self.areas}
        clinic_ids, enrolled_on = {}, {}
        for plan in clinics(rows):
            area = by_code[plan.area or ""]
            if area.default:
                clinic_ids[plan.key] = run.open_clinic(plan, known, towns, last_day)["id"]
            else:
                clinic_ids[plan.key] = by_id[area.clinics[plan.label]]["id"]
            enrolled_on[plan.key] = max(first_day, plan.contract_start).isoformat()
        for call in calls:
            key = (call.area, call.clinic)
            town = self.rng.choice(by_code[call.area].towns)
            self.patients[call.number] = run.enrol(call.number, clinic_ids[key], town, enrolled_on[key])
        physicians = area_replay.substitutes(run, self.areas, by_id)
        for n, area in enumerate(self.areas):
            for extra in range(len(physicians[area.code]), on_call.get(area.code, 2)):
                base = area.towns[extra % len(area.towns)]
                physicians[area.code].append(
                    run.api(
                        "admin",
                        "POST",
                        "/api/v1/roster/physicians",
                        json={
                            "name": f"災害 代診 {area.name}{extra + 1}",
                            "role": "substitute",
                            "phone": f"090-1118-{n:02d}{extra:02d}",
                            "base_municipality_id": base,
                        },
                    ).json()["id"]
                )
            for physician_id in physicians[area.code][: on_call.get(area.code, 2)]:
                run.put_on_call(physician_id, start - timedelta(hours=2), list(area.towns))
        for call in calls:
            self.at(call.at, "call", call)

    # -- the night -------------------------------------------------------------------------------------
    def at(self, when: datetime, kind: str, payload: object) -> None:
        heapq.heappush(self.events, (when, next(self.sequence), kind, payload))

    def drive(self, until: datetime, progress: Callable[[int], None] = lambda n: None) -> None:
        """Every event in time order, the clock moved to each; a tick a minute while offers are out."""
        now = self.events[0][0]
        while now <= until:
            self.run.set_clock(now)
            while self.events and self.events[0][0] <= now:
                _, _, kind, payload = heapq.heappop(self.events)
                getattr(self, f"on_{kind}")(now, payload)
            self.settle()
            self.run.run_job(jobs.RECONCILE, "surge-round")
            offers = self.read_offers(now)
            progress(len(self.night.links))
            if not self.events and not offers and not self.night.replies_due:
                break
            following = self.events[0][0] if self.events else until + TICK
            now = min(following, now + TICK) if offers or self.night.replies_due else following

    def settle(self, limit_s: float = 10.0) -> None:
        """Wait until the workers have nothing queued or running (a reply's round, say)."""
        redis = self.run.redis
        queue, started = dispatch_queue(redis), StartedJobRegistry(QUEUE_NAME, connection=redis)
        deadline = time.monotonic() + limit_s
        while (queue.count or started.count) and time.monotonic() < deadline:
            time.sleep(0.02)

    def read_offers(self, now: datetime) -> int:
        """New offer SMS at the fake Twilio: each answered a minute or two later. How many were new."""
        messages = self.run.stack.fake.messages
        new = 0
        while self.night.offers_seen < len(messages):
            message = messages[self.night.offers_seen]
            self.night.offers_seen += 1
            found = re.search(r"#K(\d+) ", message.body)
            if message.via == "api" and message.body.startswith("【往診依頼】") and found:
                new += 1
                self.night.replies_due += 1
                reply = now + timedelta(minutes=self.rng.choice((1, 2)))
                self.at(reply, "reply", (int(found.group(1)), message.to))
        return new

    def on_call(self, now: datetime, call: SurgeCall) -> None:
        case = self.run.api(
            "operator",
            "POST",
            "/api/v1/cases",
            json={
                "patient": {"patient_id": self.patients[call.number]},
                "called_at": call.at.isoformat(),
                "caller_relation": "family",
                "callback_phone": f"090-2000-{call.number:04d}",
                "chief_complaint": "（災害時の再現）",
                "attending_unavailable": "no_answer",
            },
        ).json()
        self.night.cases[case["id"]] = call
        self.at(call.at + TRIAGE, "decision", case["id"])

    def on_decision(self, now: datetime, case_id: int) -> None:
        call = self.night.cases[case_id]
        self.run.api("consult", "POST", f"/api/v1/cases/{case_id}/claim")
        self.run.api(
            "consult",
            "POST",
            f"/api/v1/cases/{case_id}/decision",
            json={"disposition": call.disposition, "urgency": call.urgency, "jtas_level": call.jtas},
        )

    def on_reply(self, now: datetime, offer: tuple[int, str]) -> None:
        case_id, phone = offer
        self.night.replies_due -= 1
        if self.rng.random() < self.decline_rate:
            self.run.reply(phone, f"{case_id} N")
            self.night.declined += 1
            return
        answer = self.run.reply(phone, "Y")
        link = re.search(r"(/visit/[\w.\-]+)", answer)
        if link is None:  # the offer had lapsed or gone elsewhere: the round offers the case again
            return
        self.night.links[case_id] = (phone, link.group(1))
        offers = self.run.api("admin", "GET", f"/api/v1/cases/{case_id}/offers").json()
        travel = next(o["estimated_travel_min"] for o in offers if o["state"] == "accepted") or 30
        self.at(now + timedelta(minutes=max(1, travel)), "arrival", case_id)

    def on_arrival(self, now: datetime, case_id: int) -> None:
        phone, _ = self.night.links[case_id]
        self.run.reply(phone, f"{case_id} 到着")
        self.at(now + timedelta(minutes=self.rng.randint(30, 50)), "outcome", case_id)

    def on_outcome(self, now: datetime, case_id: int) -> None:
        _, link = self.night.links[case_id]
        self.run.api(
            "admin", "POST", link + "/outcome", json={"outcome": "treated_at_home", "treatment": "（再現）"}
        )
