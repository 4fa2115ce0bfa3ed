"""Shift swaps: a substitute physician asks to give away or trade a shift, a colleague takes it, the
coordinator approves (unless the programme needs no approval). An approved swap becomes covers, so the
roster keeps who was rostered and matching uses whoever holds the shift from then on. Each step returns
the SMS notices it calls for (no patient data: a swap has none); the caller queues them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dispatch.audit.service import record
from dispatch.auth.models import Role, User
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


def _window(shift: Shift, tz: str) -> str:
    zone = ZoneInfo(tz)
    start, end = shift.starts_at.astimezone(zone), shift.ends_at.astimezone(zone)
    return f"{start.month}/{start.day} {start:%H:%M}〜{end.month}/{end.day} {end:%H:%M}"


def _said(programme: Programme, swap: ShiftSwap, what: str, head: str = "当番交代") -> str:
    return f"【{head}】#S{swap.id} {_window(swap.shift, programme.timezone)} {what}"


def _notice(physician: Physician | None, body: str, purpose: str = "swap") -> list[Notice]:
    if physician is None or physician.phone_e164 is None:
        return []
    return [Notice(physician.phone_e164, body, purpose)]


def _coordinator(programme: Programme, body: str) -> list[Notice]:
    phone = programme.coordinator_phone
    return [Notice(phone, body, "swap_approval")] if phone else []


def _audit(session: Session, clock: Clock, user: User | None, action: str, swap: ShiftSwap, **extra) -> None:
    detail = {"swap_id": swap.id, "shift_id": swap.shift_id, "kind": swap.kind.value, **extra}
    record(session, clock, user, action, detail=detail)


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
    """Ask to give away or trade a shift: a substitute their own, a coordinator anyone's."""
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
    _audit(session, clock, user, "swap.asked", swap, asker_id=swap.asker_id, offered_shift_id=offered_shift_id)
    by_sms = kind is SwapKind.give_away or offered is not None  # nothing left to choose
    how = f"返信「交代 {swap.id}」またはコンソールの「当番交代」" if by_sms else "コンソールの「当番交代」"
    window = _window(shift, programme.timezone)
    body = f"【当番交代の依頼】#S{swap.id} {window} 引き受けられる方は{how}からお願いします"
    colleagues = [offered.physician] if offered else could_take(session, shift)
    return swap, [n for p in colleagues for n in _notice(p, body)]


def _claim(session: Session, swap_id: int, states: tuple[SwapState, ...], values: dict) -> ShiftSwap:
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
    swap = _claim(session, swap_id, (SwapState.open,), values)
    _audit(session, clock, user, "swap.taken", swap, taker_id=taker_id, exchange_shift_id=exchange_id)
    if programme.swaps_need_approval:
        notices = _notice(
            swap.asker, _said(programme, swap, "の依頼が引き受けられました。承認をお待ちください")
        )
        approve_in = "コンソールの「当番交代」で承認をお願いします"
        return swap, notices + _coordinator(programme, _said(programme, swap, approve_in, "当番交代の承認依頼"))
    swap = _claim(session, swap_id, (SwapState.taken,), {"state": SwapState.approved, "decided_at": now})
    return swap, apply(session, clock, programme, swap, user)


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
    _audit(
        session, clock, user, "swap.applied", swap, cover_id=cover.id, return_cover_id=back.id if back else None
    )
    body = _said(programme, swap, "の交代が確定しました")
    return _notice(swap.asker, body) + _notice(swap.taker, body)


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
    swap = _claim(
        session,
        swap_id,
        (SwapState.taken,),
        {"state": SwapState.approved, "decided_at": clock.now(), "decided_by_user_id": user.id},
    )
    _audit(session, clock, user, "swap.approved", swap)
    return swap, apply(session, clock, programme, swap, user)


def reject(
    session: Session, clock: Clock, programme: Programme, *, user: User, swap_id: int
) -> tuple[ShiftSwap, list[Notice]]:
    """The coordinator refuses a swap still pending; the shift stays as rostered."""
    values = {"state": SwapState.rejected, "decided_at": clock.now(), "decided_by_user_id": user.id}
    swap = _claim(session, swap_id, PENDING, values)
    _audit(session, clock, user, "swap.rejected", swap)
    body = _said(programme, swap, "の交代は承認されませんでした")
    return swap, _notice(swap.asker, body) + _notice(swap.taker, body)


def cancel(
    session: Session, clock: Clock, programme: Programme, *, user: User, swap_id: int
) -> tuple[ShiftSwap, list[Notice]]:
    """The asker (or a coordinator for them) withdraws a swap before approval."""
    swap = session.get(ShiftSwap, swap_id)
    if swap is None or (user.role not in COORDINATING and swap.asker_id != user.physician_id):
        raise LookupError(f"swap_id: no swap {swap_id} of yours")
    values = {"state": SwapState.cancelled, "decided_at": clock.now(), "decided_by_user_id": user.id}
    swap = _claim(session, swap_id, PENDING, values)
    _audit(session, clock, user, "swap.cancelled", swap)
    return swap, _notice(swap.taker, _said(programme, swap, "の依頼は取り下げられました"))


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
