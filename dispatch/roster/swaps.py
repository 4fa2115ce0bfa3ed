"""Shift swaps: a substitute physician asks to give away or trade a shift, a colleague takes it, the
coordinator approves (unless the programme needs no approval). An approved swap becomes covers, so the
roster keeps who was rostered and matching uses whoever holds the shift from then on. Each step returns
the SMS notices it calls for (no patient data: a swap has none); the caller queues them. Asking, taking and
who sees which swap are here; deciding and what the steps share in `roster.swap_decisions`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.auth.models import User
from dispatch.auth.scope import area_scope
from dispatch.clock import Clock
from dispatch.programme.models import Programme
from dispatch.roster.models import (
    Physician,
    PhysicianRole,
    Shift,
    ShiftCover,
    ShiftSwap,
    SwapKind,
    SwapState,
    shift_coverage,
)
from dispatch.roster.scope import shift_in_area, shifts_in_area
from dispatch.roster.service import RosterRejected
from dispatch.roster.swap_decisions import (
    COORDINATING,
    PENDING,
    Notice,
    SwapConflict,
    apply,
    approve,
    audit_swap,
    cancel,
    claim,
    coordinator_notice,
    notice,
    reject,
    said,
    swap_programme,
    window,
)

__all__ = ["Notice", "SwapConflict", "SwapState", "apply", "approve", "ask", "cancel", "reject", "take"]


def could_take(session: Session, shift: Shift) -> list[Physician]:
    """Colleagues who could take `shift`: active substitutes with a phone who have covered one of its towns
    (on any shift) and are not already on call during it."""
    towns = select(shift_coverage.c.municipality_id).where(shift_coverage.c.shift_id == shift.id)
    covers_a_town = (
        select(Shift.id)
        .join(shift_coverage, shift_coverage.c.shift_id == Shift.id)
        .where(Shift.physician_id == Physician.id, shift_coverage.c.municipality_id.in_(towns))
    )
    already_on = select(Shift.id).where(
        Shift.physician_id == Physician.id,
        Shift.starts_at < shift.ends_at,
        Shift.ends_at > shift.starts_at,
        Shift.published.is_(True),
    )
    query = (
        select(Physician)
        .where(
            Physician.role == PhysicianRole.substitute,
            Physician.active.is_(True),
            Physician.phone_e164.is_not(None),
            Physician.id != shift.physician_id,
            covers_a_town.exists(),
            ~already_on.exists(),
        )
        .order_by(Physician.id)
    )
    return list(session.scalars(query))


def _future_shift(session: Session, shift_id: int, field: str, now: datetime) -> Shift:
    shift = session.get(Shift, shift_id)
    if shift is None:
        raise LookupError(f"{field}: no shift {shift_id}")
    if shift.starts_at <= now:
        raise RosterRejected(field, "the shift has begun; only a shift still to come can be swapped")
    return shift


def ask(
    session: Session,
    clock: Clock,
    programme: Programme,
    *,
    user: User,
    shift_id: int,
    kind: SwapKind,
    offered_shift_id: int | None,
    note: str | None,
) -> tuple[ShiftSwap, list[Notice]]:
    """Ask to give away or trade a shift: a substitute their own, a coordinator anyone's. Every step follows
    the programme of the shift's area (`programme`, the deployment's, for a shift of none)."""
    now = clock.now()
    shift = session.get(Shift, shift_id)
    if shift is None or (user.role not in COORDINATING and shift.physician_id != user.physician_id):
        raise LookupError(f"shift_id: no shift {shift_id} of yours")  # another's shift is not shown
    area_id = area_scope(user)
    if (
        area_id is not None
        and session.scalar(select(Shift.id).where(Shift.id == shift_id, *shift_in_area(area_id))) is None
    ):
        raise LookupError(f"shift_id: no shift {shift_id} of yours")  # another area's
    _future_shift(session, shift_id, "shift_id", now)
    programme = swap_programme(session, shift, programme)
    offered = None
    if offered_shift_id is not None:
        if kind is not SwapKind.trade:
            raise RosterRejected("offered_shift_id", "only a trade names a shift in return")
        offered = _future_shift(session, offered_shift_id, "offered_shift_id", now)
        if offered.physician_id == shift.physician_id:
            raise RosterRejected("offered_shift_id", "is a shift of the asker's own; name a colleague's")
    if session.scalar(select(ShiftCover.id).where(ShiftCover.shift_id == shift_id)) is not None:
        raise SwapConflict("shift_id", "someone already covers this shift or part of it")
    pending = select(ShiftSwap.id).where(ShiftSwap.shift_id == shift_id, ShiftSwap.state.in_(PENDING))
    if session.scalar(pending) is not None:
        raise SwapConflict("shift_id", "a swap is already asked for this shift")
    swap = ShiftSwap(
        shift_id=shift_id,
        kind=kind,
        state=SwapState.open,
        asker_id=shift.physician_id,
        offered_shift_id=offered_shift_id,
        note=note,
        asked_at=now,
    )
    session.add(swap)
    session.flush()
    audit_swap(
        session, clock, user, "swap.asked", swap, asker_id=swap.asker_id, offered_shift_id=offered_shift_id
    )
    by_sms = kind is SwapKind.give_away or offered is not None  # nothing left to choose
    how = f"返信「交代 {swap.id}」またはコンソールの「当番交代」" if by_sms else "コンソールの「当番交代」"
    hours = window(shift, programme.timezone)
    body = f"【当番交代の依頼】#S{swap.id} {hours} 引き受けられる方は{how}からお願いします"
    colleagues = [offered.physician] if offered else could_take(session, shift)
    return swap, [n for p in colleagues for n in notice(p, body)]


def take(
    session: Session,
    clock: Clock,
    programme: Programme,
    *,
    user: User | None,
    taker_id: int,
    swap_id: int,
    in_exchange_shift_id: int | None,
) -> tuple[ShiftSwap, list[Notice]]:
    """A colleague takes an open swap (in a trade, giving a shift of theirs); applied at once when the
    programme needs no approval. `user`: who did it on the console (None: the taker by SMS)."""
    now = clock.now()
    swap = session.get(ShiftSwap, swap_id)
    if swap is None:
        raise LookupError(f"swap_id: no swap {swap_id}")
    if taker_id == swap.asker_id:
        raise RosterRejected("swap_id", "is your own request; cancel it instead")
    exchange_id = in_exchange_shift_id
    if swap.kind is SwapKind.give_away and exchange_id is not None:
        raise RosterRejected("in_exchange_shift_id", "a give-away takes no shift in return")
    if swap.kind is SwapKind.trade:
        if swap.offered_shift_id is not None:
            if exchange_id not in (None, swap.offered_shift_id):
                raise RosterRejected(
                    "in_exchange_shift_id", f"this trade asks for shift {swap.offered_shift_id}"
                )
            exchange_id = swap.offered_shift_id
        if exchange_id is None:
            raise RosterRejected("in_exchange_shift_id", "a trade needs a shift of yours in return")
        exchange = _future_shift(session, exchange_id, "in_exchange_shift_id", now)
        if exchange.physician_id != taker_id:
            raise RosterRejected("in_exchange_shift_id", "is not one of your shifts")
    values = {"state": SwapState.taken, "taker_id": taker_id, "exchange_shift_id": exchange_id, "taken_at": now}
    swap = claim(session, swap_id, (SwapState.open,), values)
    programme = swap_programme(session, swap.shift, programme)
    audit_swap(session, clock, user, "swap.taken", swap, taker_id=taker_id, exchange_shift_id=exchange_id)
    if programme.swaps_need_approval:
        notices = notice(swap.asker, said(programme, swap, "の依頼が引き受けられました。承認をお待ちください"))
        approve_in = "コンソールの「当番交代」で承認をお願いします"
        return swap, notices + coordinator_notice(
            programme, said(programme, swap, approve_in, "当番交代の承認依頼")
        )
    swap = claim(session, swap_id, (SwapState.taken,), {"state": SwapState.approved, "decided_at": now})
    return swap, apply(session, clock, programme, swap, user)


def visible_swaps(session: Session, user: User, limit: int = 200) -> list[ShiftSwap]:
    """What a user may see: a coordinator every swap (of their area's shifts, for an area coordinator); a
    physician their own, those they took, the open ones."""
    area_id = area_scope(user)  # an area coordinator: their area's shifts' swaps
    query = select(ShiftSwap).order_by(ShiftSwap.id.desc()).limit(limit)
    if area_id is not None:
        query = query.where(ShiftSwap.shift_id.in_(shifts_in_area(area_id)))
    if user.role not in COORDINATING:
        me = user.physician_id
        query = query.where(
            (ShiftSwap.asker_id == me) | (ShiftSwap.taker_id == me) | (ShiftSwap.state == SwapState.open)
        )
    return list(session.scalars(query))
