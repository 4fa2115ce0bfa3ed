"""The reminder SMS before each turn on call: 「【当番】本日18:00から当番です（翌08:00まで・印西市）」.

A cron job looks every few minutes for turns (covers applied) starting within the lead time and sends one
SMS per turn, written with its `ShiftReminder` row in one transaction, so a turn is reminded once however
often the job runs. Physicians who turned reminders off, inactive ones and those without a number get none.
Town names and times only: never a case or a patient.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.clock import Clock
from dispatch.roster.calendar import Turn, turns
from dispatch.roster.models import Physician, ShiftReminder
from dispatch.sms.service import queue_sms

PURPOSE = "shift_reminder"
STOP_HINT = "。停止は「通知停止」と返信してください"


def choice_text(on: bool) -> str:
    """The answer to 「通知停止」 or 「通知再開」."""
    if on:
        return "当番前のお知らせを再開しました。"
    return "当番前のお知らせを停止しました。再開は「通知再開」と返信してください。"


def _day(day: datetime, today: datetime) -> str:
    gap = (day.date() - today.date()).days
    return {0: "本日", 1: "明日"}.get(gap, f"{day.month}月{day.day}日")


def reminder_text(turn: Turn, now: datetime, zone: str) -> str:
    """The SMS: when the turn starts and ends (local time) and the towns it covers."""
    tz = ZoneInfo(zone)
    start, end, today = turn.starts_at.astimezone(tz), turn.ends_at.astimezone(tz), now.astimezone(tz)
    gap = (end.date() - start.date()).days
    until = {0: "", 1: "翌"}.get(gap, f"{end.month}月{end.day}日") + f"{end:%H:%M}まで"
    towns = "・".join(turn.towns)
    where = f"・{towns}" if towns else ""
    return f"【当番】{_day(start, today)}{start:%H:%M}から当番です（{until}{where}）{STOP_HINT}"


def send_due(session: Session, clock: Clock, lead: timedelta, zone: str) -> list[int]:
    """Queue a reminder for every turn starting within `lead` from now not yet reminded; the SMS ids."""
    now = clock.now()
    due = [t for t in turns(session, now, now + lead) if now <= t.starts_at <= now + lead]
    if not due:
        return []
    done = {
        tuple(row)
        for row in session.execute(
            select(ShiftReminder.shift_id, ShiftReminder.physician_id, ShiftReminder.starts_at).where(
                ShiftReminder.shift_id.in_({t.shift_id for t in due})
            )
        )
    }
    physicians = {
        p.id: p
        for p in session.scalars(
            select(Physician).where(
                Physician.id.in_({t.physician_id for t in due}),
                Physician.active.is_(True),
                Physician.shift_reminders.is_(True),
                Physician.phone_e164.is_not(None),
            )
        )
    }
    sent = []
    for turn in due:
        physician = physicians.get(turn.physician_id)
        if physician is None or (turn.shift_id, turn.physician_id, turn.starts_at) in done:
            continue
        message = queue_sms(session, clock, physician.sms_phone(), reminder_text(turn, now, zone), PURPOSE)
        session.add(
            ShiftReminder(
                shift_id=turn.shift_id,
                physician_id=turn.physician_id,
                starts_at=turn.starts_at,
                sms_message_id=message.id,
                reminded_at=now,
            )
        )
        sent.append(message.id)
    session.flush()
    return sent
