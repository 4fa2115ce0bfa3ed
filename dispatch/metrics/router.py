"""`/metrics` in the Prometheus text format, computed from the database at scrape time (counts, no patients)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CollectorRegistry, CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select

from dispatch.auth.guard import public
from dispatch.cases.models import Case, CaseEvent
from dispatch.cases.states import CaseState
from dispatch.deps import get_services
from dispatch.heartbeats import heartbeat_age_s
from dispatch.observability.collectors import scrape_collectors
from dispatch.offers.models import Offer, OfferState
from dispatch.services import Services

router = APIRouter(tags=["metrics"])


class DispatchCollector:
    """Reads the figures from the database (the truth) and the heartbeat from Redis."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self):
        with self.services.session_factory() as session:
            by_state = dict(session.execute(select(Case.state, func.count()).group_by(Case.state)).all())
            offers = dict(session.execute(select(Offer.state, func.count()).group_by(Offer.state)).all())
            alerts = session.scalar(
                select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "alert.coordinator")
            )
        cases = GaugeMetricFamily("dispatch_cases", "Cases by lifecycle state", labels=["state"])
        for state in CaseState:
            cases.add_metric([state.value], by_state.get(state, 0))
        yield cases
        sent = CounterMetricFamily("dispatch_offers_sent", "Offers made to substitute physicians")
        sent.add_metric([], sum(offers.values()))
        yield sent
        ended = CounterMetricFamily("dispatch_offers", "Offers by how they ended", labels=["outcome"])
        for outcome in OfferState:
            ended.add_metric([outcome.value], offers.get(outcome, 0))
        yield ended
        alerted = CounterMetricFamily("dispatch_coordinator_alerts", "Coordinator alerts raised")
        alerted.add_metric([], alerts or 0)
        yield alerted
        age = heartbeat_age_s(self.services.redis, "reconciler")
        heartbeat = GaugeMetricFamily(
            "dispatch_reconciler_heartbeat_age_seconds", "Seconds since the reconciler last swept (-1: never)"
        )
        heartbeat.add_metric([], -1 if age is None else age)
        yield heartbeat


@router.get("/metrics", dependencies=[public()])
def metrics(request: Request) -> Response:
    """Cases by state; offers sent, accepted, declined, timed out; coordinator alerts; the sweep's heartbeat."""
    registry = CollectorRegistry()
    registry.register(DispatchCollector(get_services(request)))
    for collector in scrape_collectors(get_services(request).redis):  # the queue; HTTP, jobs, SMS, offers
        registry.register(collector)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
