"""A server-sent event stream of case events. Every API process subscribes to the same Redis channel,
so a console connected to any of them sees every event; `Last-Event-ID` replays what it missed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse, ServerSentEvent
from redis.asyncio import Redis as AsyncRedis

from dispatch.auth.guard import allow, current_user
from dispatch.auth.models import Role, User
from dispatch.auth.scope import area_scope
from dispatch.deps import get_services
from dispatch.events.service import area_programme_ids, events_after
from dispatch.outbox import case_events_channel

router = APIRouter(prefix="/api/v1", tags=["events"])
REPLAY_MARGIN = 50


def _replay(request: Request, last_event_id: int, area_id: int | None) -> list[dict]:
    with get_services(request).session_factory() as session:
        return events_after(session, last_event_id, area_id)


def _programmes(request: Request, area_id: int) -> frozenset[int]:
    with get_services(request).session_factory() as session:
        return area_programme_ids(session, area_id)


@router.get(
    "/events",
    response_class=EventSourceResponse,
    dependencies=[allow(Role.operator, Role.consulting_physician, Role.coordinator, Role.admin)],
)
async def case_events(
    request: Request,
    last_event_id: str | None = Header(None, alias="Last-Event-ID", max_length=20),
    user: User = Depends(current_user),
) -> AsyncIterator[ServerSentEvent]:
    """Case events as they happen (ids, states, times; never patient data); an area coordinator gets their
    area's cases' only."""
    area_id = area_scope(user)
    programmes = await run_in_threadpool(_programmes, request, area_id) if area_id is not None else None
    redis = AsyncRedis.from_url(get_services(request).settings.redis_url)
    pubsub = redis.pubsub()
    await pubsub.subscribe(case_events_channel(redis))
    try:
        last = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
        sent: set[int] = set()
        if last is not None:
            # Ids are given at flush but published at commit, so a slightly older event can commit after a
            # newer one: replay from a little before the client's last id; consoles dedupe by event id.
            replayed = await run_in_threadpool(_replay, request, max(0, last - REPLAY_MARGIN), area_id)
            for payload in replayed:
                sent.add(payload["event_id"])
                yield ServerSentEvent(id=str(payload["event_id"]), event="case", data=payload)
        yield ServerSentEvent(event="ready", data={"last_event_id": last})
        while not await request.is_disconnected():
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None:
                continue
            payload = json.loads(message["data"])
            if payload["event_id"] in sent:
                continue  # already sent from the replay
            if programmes is not None and payload.get("programme_id") not in programmes:
                continue  # another area's case
            yield ServerSentEvent(id=str(payload["event_id"]), event="case", data=payload)
    finally:
        await pubsub.unsubscribe()
        await pubsub.aclose()
        await redis.aclose()
