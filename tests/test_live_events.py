"""Live updates: an event logged through one API process reaches a console connected to another."""

from __future__ import annotations

import json
import queue
import threading

import httpx
from fastapi.testclient import TestClient

from dispatch.app import create_app
from dispatch.services import Services
from tests.conftest import LiveServer
from tests.factories import intake_body


def _listen(url: str, headers: dict[str, str], into: queue.Queue, stop: threading.Event) -> None:
    with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(10, read=2)) as response:
        into.put(("status", response.status_code))
        event = None
        try:
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    into.put((event, json.loads(line.split(":", 1)[1])))
                if stop.is_set():
                    return
        except httpx.ReadTimeout:
            return


def _collect(events: queue.Queue, until, timeout=10.0) -> list:
    seen = []
    while True:
        kind, payload = events.get(timeout=timeout)
        seen.append((kind, payload))
        if until(seen):
            return seen


def test_a_console_on_another_api_process_sees_every_event(client, login, settings, clock):
    headers = login("operator")
    other = Services.build(settings, clock=clock)  # a second API process: its own wiring, same DB and Redis
    events: queue.Queue = queue.Queue()
    stop = threading.Event()
    with TestClient(create_app(services=other)) as other_client, LiveServer(other_client.app) as second:
        listener = threading.Thread(target=_listen, args=(f"{second.url}/api/v1/events", headers, events, stop))
        listener.start()
        assert _collect(events, lambda s: s[-1][0] == "ready")[0] == ("status", 200)
        case_id = client.post("/api/v1/cases", json=intake_body(), headers=headers).json()["id"]
        seen = _collect(events, lambda s: len([e for e in s if e[0] == "case"]) == 2)
        stop.set()
        listener.join()
    case_events = [p for kind, p in seen if kind == "case"]
    assert [(p["case_id"], p["kind"], p["state"]) for p in case_events] == [
        (case_id, "created", "received"),
        (case_id, "transition", "triage_pending"),
    ]
    assert all(
        set(p)
        == {
            "event_id",
            "case_id",
            "programme_id",
            "reference",
            "kind",
            "from_state",
            "to_state",
            "state",
            "at",
            "actor",
        }
        for p in case_events
    )  # ids and states only: no patient data
    assert "印旛" not in json.dumps(case_events, ensure_ascii=False)


def test_a_reconnecting_console_gets_what_it_missed(client, login, live_server):
    headers = login("operator")
    first = client.post("/api/v1/cases", json=intake_body(), headers=headers).json()["id"]
    second = client.post("/api/v1/cases", json=intake_body(), headers=headers).json()["id"]
    timeline = client.get(f"/api/v1/cases/{first}", headers=headers).json()["timeline"]
    events: queue.Queue = queue.Queue()
    stop = threading.Event()
    listener = threading.Thread(
        target=_listen,
        args=(
            f"{live_server.url}/api/v1/events",
            {**headers, "Last-Event-ID": str(timeline[-1]["id"])},
            events,
            stop,
        ),
    )
    listener.start()
    seen = _collect(events, lambda s: s[-1][0] == "ready")
    stop.set()
    listener.join()
    replayed = [p for kind, p in seen if kind == "case"]
    last = timeline[-1]["id"]
    missed = [(p["case_id"], p["state"]) for p in replayed if p["event_id"] > last]
    assert missed == [(second, "received"), (second, "triage_pending")]
    # A little before the last id is sent again on purpose (commit order can differ from id order); the
    # console dedupes by event id, so nothing is lost and nothing is shown twice.
    assert len({p["event_id"] for p in replayed}) == len(replayed)


def test_a_deployment_on_another_redis_database_does_not_reach_this_console(services):
    """Redis pub/sub ignores database indexes: a benchmark on db 8 must not feed the consoles of db 15,
    or a console would take its events (and their ids) for its own."""
    from redis import Redis

    from dispatch import outbox

    own_db = services.redis.connection_pool.connection_kwargs["db"]
    other = Redis.from_url(services.settings.redis_url.rsplit("/", 1)[0] + f"/{(own_db + 1) % 16}")
    listener = services.redis.pubsub()
    listener.subscribe(outbox.case_events_channel(services.redis))
    listener.get_message(timeout=1)  # the subscription's own confirmation
    outbox.send(other, outbox.Outbox(events=[{"event_id": 1, "from": "elsewhere"}]))
    outbox.send(services.redis, outbox.Outbox(events=[{"event_id": 2, "from": "here"}]))
    message = listener.get_message(ignore_subscribe_messages=True, timeout=2)
    assert json.loads(message["data"])["from"] == "here"
    assert listener.get_message(ignore_subscribe_messages=True, timeout=0.5) is None
    listener.close()
    other.close()
