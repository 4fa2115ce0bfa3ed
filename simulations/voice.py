"""The voice fallback in the model: a physician asleep misses most SMS, and a call wakes most of them.

Each offer finds its physician awake or asleep by the local hour of the night (`ASLEEP_SHARE`). Awake, they
answer the SMS as the base model has it. Asleep, the SMS is noticed with `SMS_WAKES` probability after
`SMS_NOTICED_MIN`; with the voice fallback, the call at `CALL_AFTER_MIN` (the service's default, 90 s)
wakes them with `CALL_WAKES` probability after `CALL_ANSWERED_MIN`. Whichever comes first before the
offer's deadline is their answer (declined at the base model's rate); nothing by then, the offer times out
and the next physician is offered. These shares are assumptions to compare the two ways, not measurements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simulations import model as sim

ASLEEP_SHARE = {23: 0.5, 0: 0.7, 1: 0.8, 2: 0.85, 3: 0.85, 4: 0.85, 5: 0.7, 6: 0.4}  # else
AWAKE_ASLEEP_SHARE = 0.05
SMS_WAKES = 0.25
SMS_NOTICED_MIN = (2.0, 12.0)  # uniform
CALL_AFTER_MIN = 1.5
CALL_WAKES = 0.8
CALL_ANSWERED_MIN = (0.2, 0.8)  # uniform: rings until picked up, then the message and the key
SMALL_HOURS = frozenset(range(0, 6))


class VoiceModel(sim._Model):
    """The base model with sleep, and with or without the call after an unanswered SMS."""

    def __init__(self, *args, voice: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.voice = voice

    def answer_after(self, call: sim.Call, timeout: float) -> float | None:
        """Minutes from the offer to the physician's answer, or None if none comes before the deadline."""
        rng = self.rng
        if rng.random() >= ASLEEP_SHARE.get(self.when(call.at).hour, AWAKE_ASLEEP_SHARE):
            return rng.uniform(*sim.ACCEPT_MIN)
        answers = []
        if rng.random() < SMS_WAKES:
            answers.append(rng.uniform(*SMS_NOTICED_MIN))
        if self.voice and rng.random() < CALL_WAKES:
            answers.append(CALL_AFTER_MIN + rng.uniform(*CALL_ANSWERED_MIN))
        first = min(answers, default=None)
        return first if first is not None and first < timeout else None

    def offer(self, call: sim.Call, excluded: frozenset[int], physician: sim._Physician, travel_min: float):
        timeout = sim.OFFER_TIMEOUT_MIN.get(call.urgency, sim.OFFER_TIMEOUT_OTHER_MIN)
        after = self.answer_after(call, timeout)
        declined = after is not None and self.rng.random() < sim.DECLINE_RATE
        yield self.env.timeout(timeout if after is None else after)
        if after is None or declined:
            self.free[physician.physician_id] = physician
            self.waiting[call.case_id] = (call, excluded | {physician.physician_id})
            self.dispatch()
            return
        yield from self.visit(call, physician, travel_min)


@dataclass(frozen=True)
class VoiceRow:
    label: str
    median: float
    p90: float
    small_hours_median: float
    small_hours_p90: float


def _row(label: str, runs: Sequence[sim.RunMetrics]) -> VoiceRow:
    every = [m for r in runs for m in r.to_acceptance]
    night = [m for r in runs for m, h in zip(r.to_acceptance, r.accept_hours, strict=True) if h in SMALL_HOURS]
    return VoiceRow(
        label,
        sim.percentile(every, 50),
        sim.percentile(every, 90),
        sim.percentile(night, 50),
        sim.percentile(night, 90),
    )


def compare(
    rows: Sequence[dict[str, str]], fiscal_year: int, physicians: int = 3, rate: float = 1.0, seeds: int = 10
) -> list[VoiceRow]:
    """Call → acceptance over the same simulated years, SMS only against SMS then a call."""
    result = []
    for label, voice in (("SMS only", False), ("SMS, then a call at 90 s", True)):
        runs = []
        for seed in range(seeds):
            calls = sim.plan_calls(rows, fiscal_year, np.random.default_rng(seed), rate)
            model = VoiceModel(calls, sim.SERVICE_POLICY, physicians, fiscal_year, seed, voice=voice)
            runs.append(model.run())
        result.append(_row(label, runs))
    return result


def table(result: Sequence[VoiceRow]) -> list[str]:
    """The comparison as Markdown table lines (minutes from the family's call to a physician's yes)."""
    lines = [
        "| offers reach the physician by | median | p90 | median 00–06 | p90 00–06 |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in result:
        cells = (r.median, r.p90, r.small_hours_median, r.small_hours_p90)
        lines.append(f"| {r.label} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")
    return lines
