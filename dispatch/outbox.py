"""Work and live events that leave for Redis only once the transaction that caused them has committed.

A service adds a job or an event to its session's outbox; after a successful commit the outbox is sent,
after a rollback it is dropped. If Redis is down at that moment nothing is lost: the database holds the
state, and the reconciler re-drives any case whose state calls for work.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq.exceptions import DuplicateJobError
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from dispatch.queue import dispatch_queue
from dispatch.telemetry.context import job_meta

log = logging.getLogger(__name__)

CASE_EVENTS_CHANNEL = "dispatch:case-events"


def case_events_channel(redis: Any) -> str:
    """The live-event channel of this deployment. Redis pub/sub ignores database indexes, so two
    deployments (or a test run and a benchmark) on one server must not share the bare channel name:
    a console would take the other's events for its own, and dedupe its real ones away by id."""
    return f"{CASE_EVENTS_CHANNEL}:{redis.connection_pool.connection_kwargs.get('db', 0)}"


_OUTBOX = "dispatch.outbox"


@dataclass(frozen=True)
class Job:
    func_path: str
    args: tuple[Any, ...]
    job_id: str
    at: datetime | None = None


@dataclass
class Outbox:
    jobs: list[Job] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def _outbox(session: Session) -> Outbox:
    return session.info.setdefault(_OUTBOX, Outbox())


def defer_job(session: Session, func_path: str, *args: Any, job_id: str, at: datetime | None = None) -> None:
    """Enqueue `func_path(*args)` after this commit (at `at` if given); a repeated `job_id` is a no-op."""
    _outbox(session).jobs.append(Job(func_path, args, job_id, at))


def defer_event(session: Session, payload: dict[str, Any]) -> None:
    """Publish `payload` to live consoles once this session commits."""
    _outbox(session).events.append(payload)


def send(redis: Redis, outbox: Outbox) -> None:
    """Enqueue the jobs, then publish the events (a worker waits on the jobs; a console only redraws);
    failures are logged, never raised."""
    queue = dispatch_queue(redis)
    meta = job_meta()  # the request id travels with the jobs
    for job in outbox.jobs:
        try:
            if job.at is None:
                queue.enqueue(job.func_path, *job.args, job_id=job.job_id, unique=True, meta=meta)
            else:
                queue.enqueue_at(job.at, job.func_path, *job.args, job_id=job.job_id, unique=True, meta=meta)
        except DuplicateJobError:
            pass  # already queued or done: the job is idempotent anyway
        except RedisError:
            log.warning("job %s not enqueued (Redis error); the reconciler will re-drive it", job.job_id)
    try:
        if outbox.events:
            pipe = redis.pipeline(transaction=False)
            for payload in outbox.events:
                pipe.publish(case_events_channel(redis), json.dumps(payload, ensure_ascii=False))
            pipe.execute()
    except RedisError:
        log.warning("live events not published (Redis error); consoles catch up on reconnect")


def install(session_factory: sessionmaker[Session], redis: Redis) -> None:
    """Send each session's outbox after it commits; drop it after a rollback."""

    @event.listens_for(session_factory, "after_commit")
    def _after_commit(session: Session) -> None:
        if session.in_nested_transaction():
            return  # a savepoint: the real commit is still to come
        outbox = session.info.pop(_OUTBOX, None)
        if outbox is not None:
            send(redis, outbox)

    @event.listens_for(session_factory, "after_soft_rollback")
    def _after_rollback(session: Session, previous) -> None:
        if previous.parent is None:  # the whole transaction, not a savepoint, was rolled back
            session.info.pop(_OUTBOX, None)
