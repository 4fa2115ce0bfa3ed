"""A disaster night through the live stack: many calls in an hour across the areas of a table, every one a
house call, triaged by urgency; the physicians on call answer their offers, drive (as long as the system's
own estimate on the offer says), visit and free up, until everyone is seen or the night ends. Run with
cross-area backup on and off, it shows what the neighbours' physicians do to call → arrival, per urgency
colour. The shares and durations are the SimPy model's (simulations/model.py), so the two can be read side
by side."""

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
from dispatch.cases.states import Urgency
from dispatch.flow.reconciler import UNFILLED_RETRY
from dispatch.programme.periods import fiscal_year_days, fiscal_year_of, month_start
from dispatch.queue import QUEUE_NAME, dispatch_queue
from simulations import area_replay, model
from simulations.areas import ReplayArea
from simulations.plan import AREA, clinics
from simulations.replay import Replay

# Each colour's disposition and JTAS level; how often each comes, the model's.
TRIAGED = {
    Urgency.red: ("visit_urgent", 1),
    Urgency.orange: ("visit_urgent", 2),
    Urgency.yellow: ("visit_standard", 3),
    Urgency.green: ("visit_standard", 4),
}
TICK = timedelta(minutes=1)
# A waiting case is offered again this long after its last round: the reconciler's retry, and its sweep.
SWEEP = UNFILLED_RETRY + timedelta(seconds=5)


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
    rest shared by the other areas; each at one of its area's clinics under contract that night, its colour
    drawn with the model's weights."""
    month = start.astimezone(ZoneInfo("Asia/Tokyo")).date().replace(day=1)
    open_clinics: dict[str, list[str]] = {}
    for row in rows:
        if month_start(row["contract_start"]) <= month:
            open_clinics.setdefault(row[AREA], []).append(row["clinic_label"])
    others = [code for code in open_clinics if code != hit]
    colours, weights = list(model.URGENCY_WEIGHTS), list(model.URGENCY_WEIGHTS.values())
    planned = []
    for number in range(calls):
        area = hit if not others or rng.random() < hit_share else rng.choice(others)
        colour = rng.choices(colours, weights)[0]
        disposition, jtas = TRIAGED[colour]
        at = start + timedelta(seconds=rng.randrange(minutes * 60))
        clinic = rng.choice(open_clinics[area])
        planned.append(SurgeCall(number, at, area, clinic, colour.value, disposition, jtas))
    return sorted(planned, key=lambda c: c.at)


class Surge:
    def __init__(self, run: Replay, areas: list[ReplayArea], rng: random.Random, decline_rate: float) -> None:
        self.run, self.areas, self.rng, self.decline_rate = run, areas, rng, decline_rate
        self.night = Night()
        self.patients: dict[int, int] = {}  # call number → patient id
        self.events: list[tuple[datetime, int, str, object]] = []
        self.sequence = count()

    # -- setting up ------------------------------------------------------------------------------------
    def set_up(self, rows: list[dict[str, str]], calls: list[SurgeCall], roster_scale: int) -> dict[str, int]:
        """The night's clinics, a patient per call (anywhere in the call's area) and each area's substitute
        physicians `roster_scale` deep, on call all night for their area's towns; how many in each area."""
        start = calls[0].at
        self.run.set_clock(start - timedelta(hours=3))
        clinic_ids, enrolled_on = self.open_clinics(rows, start)
        by_code = {a.code: a for a in self.areas}
        for call in calls:
            key, area = (call.area, call.clinic), by_code[call.area]
            town = self.rng.choice(area.towns)
            lat, lon = area.points[town]
            jitter = [self.rng.uniform(-model.JITTER_DEG, model.JITTER_DEG) for _ in range(2)]
            point = (lat + jitter[0], lon + jitter[1])
            self.patients[call.number] = self.run.enrol(
                call.number, clinic_ids[key], town, enrolled_on[key], point
            )
        on_call = self.roster(start, roster_scale)
        for call in calls:
            self.at(call.at, "call", call)
        return on_call

    def open_clinics(self, rows: list[dict[str, str]], start: datetime) -> tuple[dict, dict]:
        """Each row's clinic id and the day its patients are enrolled from, by (area, label)."""
        run = self.run
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
        return clinic_ids, enrolled_on

    def roster(self, start: datetime, scale: int) -> dict[str, int]:
        """Each area's substitutes `scale` deep (the others registered at their bases), on call all night."""
        run = self.run
        clinics_by_id = {c["id"]: c for c in run.api("admin", "GET", "/api/v1/clinics").json()}
        found = area_replay.substitutes(run, self.areas, clinics_by_id)
        bases = {
            p["id"]: p["base_municipality_id"]
            for p in run.api("admin", "GET", "/api/v1/roster/physicians").json()
        }
        on_call = {}
        for n, area in enumerate(self.areas):
            physicians = list(found[area.code])
            for extra in range(len(physicians) * (scale - 1)):
                physicians.append(
                    run.api(
                        "admin",
                        "POST",
                        "/api/v1/roster/physicians",
                        json={
                            "name": f"災害 代診 {area.name}{extra + 1}",
                            "role": "substitute",
                            "phone": f"090-1118-{n:02d}{extra:02d}",
                            "base_municipality_id": bases[found[area.code][extra % len(found[area.code])]],
                        },
                    ).json()["id"]
                )
            for physician_id in physicians:
                run.put_on_call(physician_id, start - timedelta(hours=2), list(area.towns))
            on_call[area.code] = len(physicians)
        return on_call

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
                case_id = int(found.group(1))
                colour = Urgency(self.night.cases[case_id].urgency)
                # The model's answer time, within the offer's deadline (a lapse is the model's decline).
                limit = model.OFFER_TIMEOUT_MIN.get(colour, model.OFFER_TIMEOUT_OTHER_MIN) - 0.5
                delay = min(self.rng.uniform(*model.ACCEPT_MIN), limit)
                self.at(now + timedelta(minutes=delay), "reply", (case_id, message.to))
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
        self.at(call.at + timedelta(minutes=self.rng.uniform(*model.TRIAGE_MIN)), "decision", case["id"])

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
        self.at(now + timedelta(minutes=self.rng.uniform(*model.VISIT_MIN)), "outcome", case_id)

    def on_outcome(self, now: datetime, case_id: int) -> None:
        _, link = self.night.links[case_id]
        self.run.api(
            "admin", "POST", link + "/outcome", json={"outcome": "treated_at_home", "treatment": "（再現）"}
        )
        # The physician is free: the next sweep offers them a waiting case, as the cron's reconciler would.
        self.at(now + SWEEP, "sweep", case_id)

    def on_sweep(self, now: datetime, case_id: int) -> None:
        """Nothing but a moment for the loop's round (the reconciler's pass) to run at."""
