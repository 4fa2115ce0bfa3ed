"""The injectable clock and Japanese phone numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from rq.registry import ScheduledJobRegistry

from dispatch.clock import ManualClock, SharedClock, SystemClock
from dispatch.phones import InvalidPhoneNumber, masked, to_e164
from dispatch.queue import QUEUE_NAME, bring_forward, dispatch_queue


def test_the_manual_clock_moves_only_forward_and_only_when_told():
    clock = ManualClock(datetime(2025, 1, 15, 14, 0, tzinfo=UTC))
    assert clock.now() == clock.now()
    assert clock.advance(timedelta(minutes=3)) == datetime(2025, 1, 15, 14, 3, tzinfo=UTC)
    with pytest.raises(ValueError, match="backward"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="backward"):
        clock.set(datetime(2025, 1, 15, 14, 0, tzinfo=UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2025, 1, 15))


def test_the_system_clock_is_aware_utc():
    assert SystemClock().now().tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("090-1234-5678", "+819012345678"),
        ("09012345678", "+819012345678"),
        ("０９０－１２３４－５６７８", "+819012345678"),
        ("+81 90 1234 5678", "+819012345678"),
        ("043-123-4567", "+81431234567"),
    ],
)
def test_japanese_numbers_become_e164(text, e164):
    assert to_e164(text) == e164


@pytest.mark.parametrize(("text", "problem"), [("", "empty"), ("090-1234", "not a valid"), ("abc", "not a")])
def test_bad_numbers_are_refused_in_words(text, problem):
    with pytest.raises(InvalidPhoneNumber, match=problem):
        to_e164(text)


def test_masked_numbers_show_only_the_last_four_digits():
    assert masked("+819012345678") == "…5678"


def test_a_job_due_on_the_simulated_night_is_scheduled_as_far_ahead_on_the_wall_clock(redis_url):
    # RQ's scheduler runs on the wall clock: an offer deadline 10 minutes ahead on the shared simulation
    # clock must be handed to it 10 minutes ahead of now, not at the night's date (long past: run at once).
    redis = Redis.from_url(redis_url)
    redis.delete(SharedClock.KEY)
    try:
        clock = SharedClock(redis)
        night = clock.set(datetime(2024, 11, 20, 12, 0, tzinfo=UTC))
        due = clock.wall(night + timedelta(minutes=10))
        assert abs(due - (datetime.now(UTC) + timedelta(minutes=10))) < timedelta(seconds=5)
    finally:
        redis.delete(SharedClock.KEY)
    # The wall clock and the tests' manual clock schedule at the instant itself.
    instant = datetime(2025, 1, 15, 14, 0, tzinfo=UTC)
    assert SystemClock().wall(instant) == ManualClock(instant).wall(instant) == instant


def test_a_jump_of_the_simulated_clock_brings_scheduled_jobs_as_far_forward(redis_url):
    redis = Redis.from_url(redis_url)
    redis.flushdb()
    now = datetime.now(UTC)
    queue = dispatch_queue(redis)
    queue.enqueue_at(now + timedelta(minutes=10), "workers.jobs.offer_deadline", 1, job_id="deadline-1")
    queue.enqueue_at(now + timedelta(minutes=30), "workers.jobs.offer_deadline", 2, job_id="deadline-2")
    registry = ScheduledJobRegistry(QUEUE_NAME, connection=redis)
    assert registry.get_jobs_to_schedule(int(now.timestamp()) + 1) == []

    assert bring_forward(redis, 15 * 60) == 2  # the simulated night jumped a quarter of an hour

    # RQ's scheduler now finds the first deadline due; the second is due in a quarter of an hour.
    assert registry.get_jobs_to_schedule(int(now.timestamp()) + 1) == ["deadline-1"]
    later = registry.get_scheduled_time("deadline-2")
    assert abs(later - (now + timedelta(minutes=15))) < timedelta(seconds=2)
    redis.flushdb()
