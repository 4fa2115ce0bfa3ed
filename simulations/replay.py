"""Replay a fiscal year through the real stack, as operators, consulting and substitute physicians would,
then fetch the system's own per-clinic report from the API."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from redis import Redis
from rq.job import Job

from dispatch import jobs
from dispatch.programme.periods import fiscal_year_days
from dispatch.queue import enqueue
from simulations.api import Api
from simulations.plan import ClinicPlan, PlannedCall
from simulations.stack import Stack

MORNING = timedelta(hours=8)


class Replay:
    def __init__(
        self,
        stack: Stack,
        rng: random.Random,
        decline_rate: float,
        timeout_rate: float,
        progress: Callable[[int], None] = lambda n: None,
    ) -> None:
        self.stack, self.rng, self.progress = stack, rng, progress
        self.decline_rate, self.timeout_rate = decline_rate, timeout_rate
        self.api = Api(stack.url)
        self.redis = Redis.from_url(stack.redis_url)
        # By (area, clinic label); the area is None in a table with no area column.
        self.patients: dict[tuple[str | None, str], list[int]] = {}  # enrolled all year
        self.dying: dict[tuple[str | None, str], list[int]] = {}  # one per death: it ends the enrolment
        self.now: datetime | None = None
        self.stats = {"offers_declined": 0, "offers_timed_out": 0, "offered_by_hand": 0}

    # -- time ----------------------------------------------------------------------------------------
    def set_clock(self, at: datetime) -> None:
        if self.now is not None and at <= self.now:
            return
        self.api("admin", "PUT", "/api/v1/simulation/clock", json={"now": at.isoformat()})
        self.now = at

    def run_job(self, func: str, name: str) -> None:
        """Run a periodic job now (on the shared clock) and wait for it."""
        job = enqueue(self.redis, func, job_id=f"replay-{name}-{time.monotonic_ns()}")
        deadline = time.monotonic() + 60
        while (status := Job.fetch(job.id, connection=self.redis).get_status()) not in ("finished", "failed"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{func} did not finish")
            time.sleep(0.02)
        if status == "failed":
            raise RuntimeError(f"{func} failed on the worker")

    # -- setting up ------------------------------------------------------------------------------------
    def set_up(self, clinics: list[ClinicPlan], year: int) -> None:
        first_day, last_day = fiscal_year_days(year)
        start = self.start_clock(clinics, year)
        known = {c["label"]: c for c in self.api("admin", "GET", "/api/v1/clinics").json()}
        towns = self.api("admin", "GET", "/api/v1/programme").json()["municipalities"]
        for plan in clinics:
            clinic = self.open_clinic(plan, known, towns, last_day)
            town = next((t for t in towns if t["id"] == clinic.get("municipality_id")), towns[0])
            self.enrol_clinic(plan, clinic["id"], town["id"], first_day)
        # Every substitute physician on call, everywhere, all year: 48-hour blocks.
        physicians = [p["id"] for p in self.api("admin", "GET", "/api/v1/roster/physicians").json()]
        for block in self.blocks(start, last_day):
            for physician_id in physicians:
                self.put_on_call(physician_id, block, [t["id"] for t in towns])

    def start_clock(self, clinics: list[ClinicPlan], year: int) -> date:
        """The clock set to the day before the first contract of the year starts; that day."""
        first_day, _ = fiscal_year_days(year)
        start = min(max(c.contract_start, first_day) for c in clinics)
        self.set_clock(datetime.combine(start, datetime.min.time(), ZoneInfo("Asia/Tokyo")) - timedelta(days=1))
        return start

    def open_clinic(self, plan: ClinicPlan, known: dict[str, dict], towns: list[dict], last_day: date) -> dict:
        """The default programme's clinic for the plan, made (or its contract added) through the API."""
        clinic = known.get(plan.label)
        month = plan.contract_start.strftime("%Y-%m")
        if clinic is None:
            clinic = self.api(
                "admin",
                "POST",
                "/api/v1/clinics",
                json={
                    "label": plan.label,
                    "kind": plan.kind,
                    "municipality_id": towns[len(known) % len(towns)]["id"],
                    "contract_periods": [{"start_month": month, "end_month": last_day.strftime("%Y-%m")}],
                },
            ).json()
            known[plan.label] = clinic
        elif not any(p["start_month"].startswith(month) for p in clinic["contract_periods"]):
            self.api(
                "admin",
                "POST",
                f"/api/v1/clinics/{clinic['id']}/contracts",
                json={"start_month": month, "end_month": last_day.strftime("%Y-%m")},
            )
        return clinic

    def enrol_clinic(self, plan: ClinicPlan, clinic_id: int, town_id: int, first_day: date) -> None:
        """The plan's patients enrolled from its contract month (in the year), living in `town_id`."""
        enrolled_on = max(plan.contract_start, first_day).isoformat()
        self.patients[plan.key] = [self.enrol(n, clinic_id, town_id, enrolled_on) for n in range(plan.patients)]
        # The deaths' patients are enrolled besides the table's: their enrolments end at death, so that
        # the table's number remains on 31 March.
        self.dying[plan.key] = [
            self.enrol(n, clinic_id, town_id, enrolled_on)
            for n in range(plan.patients, plan.patients + plan.deaths)
        ]

    @staticmethod
    def blocks(start: date, last_day: date) -> list[datetime]:
        """The starts of the 48-hour blocks of the roster, from the day before `start` past the year's end."""
        block = datetime.combine(start, datetime.min.time(), ZoneInfo("Asia/Tokyo")) - timedelta(days=1)
        end = datetime.combine(last_day, datetime.min.time(), ZoneInfo("Asia/Tokyo")) + timedelta(days=2)
        starts = []
        while block < end:
            starts.append(block)
            block += timedelta(hours=48)
        return starts

    def put_on_call(self, physician_id: int, block: datetime, towns: list[int]) -> None:
        self.api(
            "admin",
            "POST",
            "/api/v1/roster/shifts",
            json={
                "physician_id": physician_id,
                "starts_at": block.isoformat(),
                "ends_at": (block + timedelta(hours=48)).isoformat(),
                "coverage": towns,
            },
        )

    def enrol(
        self,
        n: int,
        clinic_id: int,
        municipality_id: int,
        enrolled_on: str,
        point: tuple[float, float] | None = None,
    ) -> int:
        """Enrol fictional patient number `n` with the clinic from `enrolled_on` (ISO date), living at `point`
        (latitude, longitude; the town's reference point if None); its id."""
        where = {"latitude": point[0], "longitude": point[1]} if point else {}
        return self.api(
            "admin",
            "POST",
            "/api/v1/patients",
            json={
                "family_name": "再現",
                "given_name": f"{n}",
                "family_name_kana": "サイゲン",
                "given_name_kana": f"{n}",
                "date_of_birth": "1940-01-01",
                "address": "（再現データ）",
                "municipality_id": municipality_id,
                **where,
                "enrolment": {
                    "clinic_id": clinic_id,
                    "clinic_patient_number": f"R-{n}",
                    "enrolled_on": enrolled_on,
                    "consent_given": True,
                    "consent_at": f"{enrolled_on}T10:00:00+09:00",
                    "consent_by": "本人",
                },
            },
        ).json()["id"]

    # -- one call --------------------------------------------------------------------------------------
    def wait_for_offer(self, case_id: int, seen: int) -> tuple[str, int]:
        started = time.monotonic()
        by_hand = False
        while time.monotonic() < started + 30:
            offers = [
                m
                for m in self.stack.fake.messages
                if m.via == "api" and f"#K{case_id} " in m.body and m.body.startswith("【往診依頼】")
            ]
            if len(offers) > seen:
                return offers[-1].to, len(offers)
            if not by_hand and time.monotonic() > started + 3:
                by_hand = self.offer_by_hand(case_id)
            time.sleep(0.01)
        timeline = self.api("admin", "GET", f"/api/v1/cases/{case_id}").json()["timeline"]
        last = [(e["kind"], e["to_state"], e["reason"]) for e in timeline[-4:]]
        raise RuntimeError(f"case {case_id}: no offer SMS arrived; last events {last}")

    def offer_by_hand(self, case_id: int) -> bool:
        """A case nobody is left to be offered to automatically (its area's one physician and the neighbours'
        within the cap said no): the coordinator, alerted, offers it by hand to the first free physician on
        the picker's list. Whether they did."""
        found = self.api("coordinator", "GET", f"/api/v1/cases/{case_id}/candidates").json()
        free = [c for c in found["physicians"] if c["status"] == "free"]
        if found["state"] != "unfilled" or not free:
            return False
        body = {"physician_id": free[0]["physician_id"]}
        self.api("coordinator", "POST", f"/api/v1/cases/{case_id}/offers", json=body)
        self.stats["offered_by_hand"] += 1
        return True

    def deadline(self, case_id: int) -> datetime:
        """The pending offer's deadline, once the worker has recorded the SMS as sent (it starts then)."""
        until = time.monotonic() + 30
        while time.monotonic() < until:
            offers = self.api("admin", "GET", f"/api/v1/cases/{case_id}/offers").json()
            pending = [o for o in offers if o["state"] == "pending"]
            if pending and pending[-1]["sms_sent_at"]:
                return datetime.fromisoformat(pending[-1]["deadline_at"])
            time.sleep(0.01)
        raise RuntimeError(f"case {case_id}: the offer was never recorded as sent")

    def reply(self, phone: str, body: str) -> str:
        response = self.stack.fake.send_inbound(phone, body)
        response.raise_for_status()
        return response.text

    def call(self, planned: PlannedCall) -> None:
        self.set_clock(planned.at)
        if planned.kind == "end_of_life":
            patient = self.dying[planned.key].pop()
        else:
            patient = self.rng.choice(self.patients[planned.key])
        case = self.api(
            "operator",
            "POST",
            "/api/v1/cases",
            json={
                "patient": {"patient_id": patient},
                "called_at": planned.at.isoformat(),
                "caller_relation": "family",
                "callback_phone": "090-1234-5678",
                "chief_complaint": "（再現）",
                "attending_unavailable": "no_answer",
            },
        ).json()
        case_id = case["id"]
        self.set_clock(planned.at + timedelta(minutes=4))
        self.api("consult", "POST", f"/api/v1/cases/{case_id}/claim")
        decision = {
            "consultation": ("advice_follow_up_attending", "green", 4),
            "visit": ("visit_standard", "yellow", 3),
            "end_of_life": ("expected_death_visit", "yellow", 3),
        }[planned.kind]
        self.api(
            "consult",
            "POST",
            f"/api/v1/cases/{case_id}/decision",
            json=dict(zip(("disposition", "urgency", "jtas_level"), decision, strict=True)),
        )
        if planned.kind == "consultation":
            return
        seen, attempts = 0, 0
        while True:
            phone, seen = self.wait_for_offer(case_id, seen)
            attempts += 1
            roll = self.rng.random() if attempts <= 2 else 1.0  # at most two refusals per case
            if roll < self.decline_rate:
                self.reply(phone, f"{case_id} N")
                self.stats["offers_declined"] += 1
            elif roll < self.decline_rate + self.timeout_rate:
                self.set_clock(self.deadline(case_id) + timedelta(seconds=1))
                self.run_job(jobs.RECONCILE, "reconcile")
                self.stats["offers_timed_out"] += 1
            else:
                link = re.search(r"(/visit/[\w.\-]+)", self.reply(phone, "Y")).group(1)
                break
        self.set_clock(self.now + timedelta(minutes=self.rng.randint(15, 45)))
        self.reply(phone, f"{case_id} 到着")
        self.set_clock(self.now + timedelta(minutes=self.rng.randint(20, 60)))
        outcome: dict = {"outcome": "treated_at_home", "treatment": "（再現）"}
        if planned.kind == "end_of_life":
            outcome = {
                "outcome": "death_pronounced",
                "death": {
                    "noticed_at": (self.now - timedelta(minutes=90)).isoformat(),
                    "confirmed_at": self.now.isoformat(),
                    "related_to_treated_disease": True,
                    "certificate_by": "attending",
                    "police_informed": False,
                },
            }
        self.api("admin", "POST", link + "/outcome", json=outcome)

    def morning(self, after: datetime) -> None:
        """08:00 after the night of `after`: the handoffs are made and every clinic acknowledges."""
        local = after.astimezone(ZoneInfo("Asia/Tokyo"))
        day = local.date() if local.hour < 8 else local.date() + timedelta(days=1)
        self.set_clock(datetime.combine(day, datetime.min.time(), ZoneInfo("Asia/Tokyo")) + MORNING)
        self.run_job(jobs.HANDOFFS, "handoffs")
        for handoff in self.api("coordinator", "GET", "/api/v1/handoffs").json():
            if handoff["acknowledged_at"] is None:
                self.api("coordinator", "POST", f"/api/v1/handoffs/{handoff['id']}/acknowledge")

    def run(self, calls: list[PlannedCall]) -> None:
        pending_morning: datetime | None = None
        for n, planned in enumerate(calls, 1):
            if pending_morning is not None and planned.at >= pending_morning:
                self.morning(pending_morning - timedelta(minutes=1))
            self.call(planned)
            local = planned.at.astimezone(ZoneInfo("Asia/Tokyo"))
            day = local.date() if local.hour < 8 else local.date() + timedelta(days=1)
            pending_morning = (
                datetime.combine(day, datetime.min.time(), ZoneInfo("Asia/Tokyo")) + MORNING
            ).astimezone(UTC)
            self.progress(n)
        if pending_morning is not None:
            self.morning(pending_morning - timedelta(minutes=1))

    def report(self, year: int) -> dict:
        return self.api("admin", "GET", "/api/v1/reports/clinics", params={"fiscal_year": year}).json()

    def open_cases(self) -> list[dict]:
        return self.api("admin", "GET", "/api/v1/cases", params={"open_only": "true", "limit": 1000}).json()
