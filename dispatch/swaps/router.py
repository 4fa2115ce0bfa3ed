"""Shift swaps: ask, take, approve, reject, cancel; each step audited and its SMS queued in one transaction.

The routes live outside `dispatch.roster` because they queue SMS, and `dispatch.sms` already reads the
roster: the rules stay in `dispatch.roster.swaps`, which returns the notices to send."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy.orm import Session

from dispatch.audit.service import record
from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.deps import db_session, get_services
from dispatch.ids import PathId
from dispatch.programme.choice import AREA_HELP, asked_programme
from dispatch.programme.models import Programme
from dispatch.programme.service import users_programme
from dispatch.roster import service, swaps
from dispatch.roster.models import Shift, ShiftSwap
from dispatch.roster.schemas import SwapIn, SwapOut, SwapSettings, SwapShift, SwapTakeIn
from dispatch.roster.service import RosterRejected
from dispatch.sms.service import queue_sms

router = APIRouter(prefix="/api/v1/swaps", tags=["swaps"])
PHYSICIANS = (Role.substitute_physician,)
COORDINATORS = (Role.coordinator, Role.admin)
ASKERS = PHYSICIANS + COORDINATORS


def _shift(shift: Shift | None) -> SwapShift | None:
    if shift is None:
        return None
    return SwapShift(
        id=shift.id,
        physician_id=shift.physician_id,
        physician_name=shift.physician.name,
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
        coverage=[m.name for m in shift.coverage],
    )


def _out(session: Session, swap: ShiftSwap) -> SwapOut:
    offered = session.get(Shift, swap.offered_shift_id) if swap.offered_shift_id else None
    shift = _shift(swap.shift)
    assert shift is not None
    return SwapOut(
        id=swap.id,
        kind=swap.kind,
        state=swap.state,
        shift=shift,
        asker_id=swap.asker_id,
        asker_name=swap.asker.name,
        offered_shift=_shift(offered),
        taker_id=swap.taker_id,
        taker_name=swap.taker.name if swap.taker else None,
        exchange_shift=_shift(swap.exchange_shift),
        note=swap.note,
        asked_at=swap.asked_at,
        taken_at=swap.taken_at,
        decided_at=swap.decided_at,
    )


def _physician(user: User) -> int:
    if user.physician_id is None:
        raise LookupError("user: this login is not linked to a physician")
    return user.physician_id


def _programme(request: Request, session: Session, user: User) -> Programme:
    """The programme a swap of a shift of no area follows (each step takes its shift's area's)."""
    return users_programme(session, user, get_services(request).settings.programme_code)


def _step(
    request: Request,
    session: Session,
    user: User,
    run: Callable[[Programme], tuple[ShiftSwap, list[swaps.Notice]]],
) -> SwapOut:
    """Run a swap step, queue its SMS, commit; refusals as 404 / 409 / 422 naming the field."""
    clock = get_services(request).clock
    try:
        swap, notices = run(_programme(request, session, user))
        for notice in notices:
            queue_sms(session, clock, notice.phone, notice.body, notice.purpose)
    except LookupError as exc:
        raise HTTPException(404, detail=str(exc)) from None
    except swaps.SwapConflict as exc:
        raise HTTPException(409, detail=str(exc)) from None
    except RosterRejected as exc:
        raise HTTPException(422, detail=str(exc)) from None
    out = _out(session, swap)
    session.commit()
    return out


@router.get("", response_model=list[SwapOut], dependencies=[allow(*ASKERS)])
def list_swaps(user: User = Depends(current_user), session: Session = Depends(db_session)) -> list[SwapOut]:
    """Swaps, newest first: a coordinator sees all; a physician their own, those they took, the open ones."""
    return [_out(session, s) for s in swaps.visible_swaps(session, user)]


@router.get("/shifts", response_model=list[SwapShift], dependencies=[allow(*ASKERS)])
def my_shifts(
    request: Request, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> list[SwapShift]:
    """The caller's own shifts still to come (none for a user who is not a physician)."""
    if user.physician_id is None:
        return []
    now = get_services(request).clock.now()
    return [s for s in map(_shift, service.upcoming_shifts(session, user.physician_id, now)) if s]


@router.post("", response_model=SwapOut, status_code=201, dependencies=[allow(*ASKERS)])
def ask_swap(
    body: SwapIn, request: Request, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> SwapOut:
    """Ask to give away or trade a shift (a physician their own; a coordinator for them); colleagues told."""
    clock = get_services(request).clock
    return _step(
        request,
        session,
        user,
        lambda programme: swaps.ask(
            session,
            clock,
            programme,
            user=user,
            shift_id=body.shift_id,
            kind=body.kind,
            offered_shift_id=body.offered_shift_id,
            note=body.note,
        ),
    )


@router.post("/{swap_id}/take", response_model=SwapOut, dependencies=[allow(*PHYSICIANS)])
def take_swap(
    swap_id: PathId,
    body: SwapTakeIn,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> SwapOut:
    """Take a colleague's open swap; applied at once where the programme needs no approval."""
    clock = get_services(request).clock
    return _step(
        request,
        session,
        user,
        lambda programme: swaps.take(
            session,
            clock,
            programme,
            user=user,
            taker_id=_physician(user),
            swap_id=swap_id,
            in_exchange_shift_id=body.in_exchange_shift_id,
        ),
    )


@router.post("/{swap_id}/approve", response_model=SwapOut, dependencies=[allow(*COORDINATORS)])
def approve_swap(
    swap_id: PathId,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> SwapOut:
    """Approve a taken swap: the taker covers the shift from now on (in a trade, the asker theirs)."""
    clock = get_services(request).clock
    return _step(request, session, user, lambda p: swaps.approve(session, clock, p, user=user, swap_id=swap_id))


@router.post("/{swap_id}/reject", response_model=SwapOut, dependencies=[allow(*COORDINATORS)])
def reject_swap(
    swap_id: PathId,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> SwapOut:
    """Refuse a pending swap; the shift stays as rostered."""
    clock = get_services(request).clock
    return _step(request, session, user, lambda p: swaps.reject(session, clock, p, user=user, swap_id=swap_id))


@router.post("/{swap_id}/cancel", response_model=SwapOut, dependencies=[allow(*ASKERS)])
def cancel_swap(
    swap_id: PathId,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> SwapOut:
    """The asker withdraws a swap before it is approved."""
    clock = get_services(request).clock
    return _step(request, session, user, lambda p: swaps.cancel(session, clock, p, user=user, swap_id=swap_id))


@router.get("/settings", response_model=SwapSettings, dependencies=[allow(*COORDINATORS)])
def read_settings(
    request: Request,
    area: str | None = Query(None, max_length=32, description=AREA_HELP),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> SwapSettings:
    """Whether swaps wait for the coordinator's approval (in `area`'s programme; an area coordinator: their
    area's)."""
    return SwapSettings(swaps_need_approval=asked_programme(request, session, user, area).swaps_need_approval)


@router.put("/settings", response_model=SwapSettings, dependencies=[allow(*COORDINATORS)])
def change_settings(
    body: SwapSettings,
    request: Request,
    area: str | None = Query(None, max_length=32, description=AREA_HELP),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> SwapSettings:
    """Turn the coordinator's approval of swaps on or off for the programme (`area`'s; an area coordinator:
    their area's), audited."""
    programme = asked_programme(request, session, user, area)
    before = programme.swaps_need_approval
    programme.swaps_need_approval = body.swaps_need_approval
    detail = {"swaps_need_approval": body.swaps_need_approval, "before": before}
    record(
        session,
        get_services(request).clock,
        user,
        "swap.settings",
        detail=detail | {"programme": programme.code},
    )
    session.commit()
    return body
