"""The shared clock's controls, present only in simulation mode (refused by a production start)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from dispatch.auth.guard import allow
from dispatch.auth.models import Role
from dispatch.clock import SharedClock
from dispatch.deps import get_services
from dispatch.queue import bring_forward
from dispatch.times import time_problem

router = APIRouter(prefix="/api/v1/simulation", tags=["simulation"])


class ClockIn(BaseModel):
    now: datetime


class ClockOut(BaseModel):
    now: datetime


def _shared(request: Request) -> SharedClock:
    services = get_services(request)
    if not services.settings.simulation_mode or not isinstance(services.clock, SharedClock):
        raise HTTPException(404, detail="simulation mode is off")
    return services.clock


@router.get("/clock", response_model=ClockOut, dependencies=[allow(Role.admin)])
def read_clock(request: Request) -> ClockOut:
    """The simulated now."""
    return ClockOut(now=_shared(request).now())


@router.put("/clock", response_model=ClockOut, dependencies=[allow(Role.admin)])
def move_clock(body: ClockIn, request: Request) -> ClockOut:
    """Move the simulated now forward, for the API and every worker at once, and the jobs scheduled
    on it with it."""
    if problem := time_problem(body.now):
        raise HTTPException(422, detail=f"now: {problem}")
    clock = _shared(request)
    before = clock.now()
    try:
        now = clock.set(body.now)
    except ValueError as exc:
        raise HTTPException(409, detail=f"now: {exc}") from None
    # Jobs were handed to RQ's scheduler at wall-clock times (`Clock.wall`); the jump brings them as far
    # forward. (A job scheduled between the two steps is moved too and runs early: it re-reads the shared
    # clock, finds nothing due and leaves the rest to the reconciler's sweep.)
    bring_forward(get_services(request).redis, (now - before).total_seconds())
    return ClockOut(now=now)
