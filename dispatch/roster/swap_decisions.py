"""Shift swaps, the coordinator's side and what every step shares: the SMS notices a step calls for (in the
programme of the area the swapped shift covers), the conditional state moves, approval, refusal, withdrawal,
and an approved swap written as covers (asking and taking: `roster.swaps`)."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dispatch.audit.service import record
from dispatch.auth.models import Role, User
from dispatch.clock import Clock
from dispatch.programme.models import Municipality, Programme
from dispatch.roster.models import Physician, Shift, ShiftSwap, SwapState, shift_coverage
from dispatch.roster.service import RosterRejected, add_cover

PENDING = (SwapState.open, SwapState.taken)
COORDINATING = (Role.coordinator, Role.admin)


class SwapConflict(ValueError):
    """The swap is not in a state that allows this step; `field` names what is in the way."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")


@dataclass(frozen=True)
class Notice:
    """An SMS a swap step calls for."""

    phone: str
    body: str
    purpose: str


def window(shift: Shift, tz: str) -> str:
    """The shift's hours as an SMS gives them: 1/20 18:00〜1/21 08:00."""
    zone = ZoneInfo(tz)
    start, end = shift.starts_at.astimezone(zone), shift.ends_at.astimezone(zone)
    return f"{start.month}/{start.day} {start:%H:%M}〜{end.month}/{end.day} {end:%H:%M}"


def said(programme: Programme, swap: ShiftSwap, what: str, head: str = "当番交代") -> str:
    """An SMS about a swap: 【当番交代】#S12 <its hours> <what>."""
    return f"【{head}】#S{swap.id} {window(swap.shift, programme.timezone)} {what}"


def notice(physician: Physician | None, body: str, purpose: str = "swap") -> list[Notice]:
    """The SMS to a physician, if there is one with a phone."""
    if physician is None or physician.phone_e164 is None:
        return []
    return [Notice(physician.phone_e164, body, purpose)]


def coordinator_notice(programme: Programme, body: str) -> list[Notice]:
    """The SMS to the programme's coordinator, if it has a phone."""
    phone = programme.coordinator_phone
    return [Notice(phone, body, "swap_approval")] if phone else []


def audit_swap(
    session: Session, clock: Clock, user: User | None, action: str, swap: ShiftSwap, **extra
) -> None:
    """A swap step in the audit log."""
    detail = {"swap_id": swap.id, "shift_id": swap.shift_id, "kind": swap.kind.value, **extra}
    record(session, clock, user, action, detail=detail)


def swap_programme(session: Session, shift: Shift, default: Programme) -> Programme:
    """The programme whose rules and coordinator a swap of `shift` follows: that of the area of the first of
    its towns (by code) an area's programme serves; `default` for none."""
    query = (
        select(Programme)
        .join(Municipality, Municipality.area_id == Programme.area_id)
        .join(shift_coverage, shift_coverage.c.municipality_id == Municipality.id)
        .where(shift_coverage.c.shift_id == shift.id)
        .order_by(Municipality.code, Programme.id)
        .limit(1)
    )
    return session.scalar(query) or default


def claim(session: Session, swap_id: int, states: tuple[SwapState, ...], values: dict) -> ShiftSwap:
    """Move a swap out of one of `states` in one conditional UPDATE: of two at once, one wins, one gets 409."""
    swap = session.get(ShiftSwap, swap_id)
    if swap is None:
        raise LookupError(f"swap_id: no swap {swap_id}")
    moved = session.execute(
        update(ShiftSwap).where(ShiftSwap.id == swap_id, ShiftSwap.state.in_(states)).values(**values)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(swap)
        raise SwapConflict("swap_id", f"the swap is {swap.state.value}, not {' or '.join(states)}")
    session.refresh(swap)
    return swap


def apply(
    session: Session, clock: Clock, programme: Programme, swap: ShiftSwap, user: User | None
) -> list[Notice]:
    """Write an approved swap as covers: the taker covers the shift, in a trade the asker the taker's."""
    note = f"交代 #S{swap.id}"
    try:
        cover = _cover_rest(session, clock, swap.shift, swap.taker_id, note)
        back = swap.exchange_shift and _cover_rest(session, clock, swap.exchange_shift, swap.asker_id, note)
    except RosterRejected as exc:
        raise SwapConflict("swap_id", f"cannot be applied: {exc}") from None
    audit_swap(
        session, clock, user, "swap.applied", swap, cover_id=cover.id, return_cover_id=back.id if back else None
    )
    body = said(programme, swap, "の交代が確定しました")
    return notice(swap.asker, body) + notice(swap.taker, body)


def _cover_rest(session: Session, clock: Clock, shift: Shift, physician_id: int | None, note: str):
    if physician_id is None:
        raise RosterRejected("taker_id", "nobody has taken the swap")
    now = clock.now()
    if shift.ends_at <= now:
        raise RosterRejected("shift_id", "the shift is over")
    return add_cover(session, shift.id, physician_id, max(shift.starts_at, now), shift.ends_at, note)


def approve(
    session: Session, clock: Clock, programme: Programme, *, user: User, swap_id: int
) -> tuple[ShiftSwap, list[Notice]]:
    """The coordinator approves a taken swap, which applies it."""
    swap = claim(
        session,
        swap_id,
        (SwapState.taken,),
        {"state": SwapState.approved, "decided_at": clock.now(), "decided_by_user_id": user.id},
    )
    audit_swap(session, clock, user, "swap.approved", swap)
    return swap, apply(session, clock, swap_programme(session, swap.shift, programme), swap, user)


def reject(
    session: Session, clock: Clock, programme: Programme, *, user: User, swap_id: int
) -> tuple[ShiftSwap, list[Notice]]:
    """The coordinator refuses a swap still pending; the shift stays as rostered."""
    values = {"state": SwapState.rejected, "decided_at": clock.now(), "decided_by_user_id": user.id}
    swap = claim(session, swap_id, PENDING, values)
    audit_swap(session, clock, user, "swap.rejected", swap)
    body = said(swap_programme(session, swap.shift, programme), swap, "の交代は承認されませんでした")
    return swap, notice(swap.asker, body) + notice(swap.taker, body)


def cancel(
    session: Session, clock: Clock, programme: Programme, *, user: User, swap_id: int
) -> tuple[ShiftSwap, list[Notice]]:
    """The asker (or a coordinator for them) withdraws a swap before approval."""
    swap = session.get(ShiftSwap, swap_id)
    if swap is None or (user.role not in COORDINATING and swap.asker_id != user.physician_id):
        raise LookupError(f"swap_id: no swap {swap_id} of yours")
    values = {"state": SwapState.cancelled, "decided_at": clock.now(), "decided_by_user_id": user.id}
    swap = claim(session, swap_id, PENDING, values)
    audit_swap(session, clock, user, "swap.cancelled", swap)
    programme = swap_programme(session, swap.shift, programme)
    return swap, notice(swap.taker, said(programme, swap, "の依頼は取り下げられました"))
