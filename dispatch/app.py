"""The FastAPI application: wiring, routers, error handlers, and the role check on every route."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from config.settings import Settings, load_settings
from dispatch.accounts.router import router as accounts_router
from dispatch.area_paths import enforce_area_scopes
from dispatch.areas.router import router as areas_router
from dispatch.audit.router import router as audit_router
from dispatch.auth.guard import enforce_declared_roles
from dispatch.auth.router import router as auth_router
from dispatch.body_limit import BodyCaps, install_body_limit
from dispatch.cases.router import router as cases_router
from dispatch.clinics.router import router as clinics_router
from dispatch.errors import install_error_handlers, install_nul_guard
from dispatch.events.router import router as events_router
from dispatch.family.router import router as family_router
from dispatch.flow.router import router as flow_router
from dispatch.handoffs.router import router as handoffs_router
from dispatch.health.router import router as health_router
from dispatch.hospitals.router import router as hospitals_router
from dispatch.matching.router import router as matching_router
from dispatch.memory_trim import install_memory_trim
from dispatch.metrics.router import router as metrics_router
from dispatch.observability.middleware import install as install_observability
from dispatch.offers.router import router as offers_router
from dispatch.outcomes.router import router as outcomes_router
from dispatch.patients.router import router as patients_router
from dispatch.programme.router import router as programme_router
from dispatch.reports.router import router as reports_router
from dispatch.roster.calendar_router import router as calendar_router
from dispatch.roster.gaps_router import router as gaps_router
from dispatch.roster.rotation_router import router as rotation_router
from dispatch.roster.router import router as roster_router
from dispatch.runtime import freeze_startup_objects
from dispatch.services import Services
from dispatch.simulation.router import router as simulation_router
from dispatch.sms.router import router as sms_router
from dispatch.submissions.router import router as submissions_router
from dispatch.swaps.router import router as swaps_router
from dispatch.triage.router import router as triage_router
from dispatch.twofactor.router import router as twofactor_router
from dispatch.voice.router import router as voice_router
from dispatch.web import router as web
from dispatch.web.visit import router as visit_router

log = logging.getLogger(__name__)

ROUTERS = (
    health_router,
    auth_router,
    accounts_router,
    twofactor_router,
    programme_router,
    areas_router,
    clinics_router,
    hospitals_router,
    roster_router,
    swaps_router,
    gaps_router,
    rotation_router,
    calendar_router,
    patients_router,
    cases_router,
    triage_router,
    events_router,
    offers_router,
    matching_router,
    flow_router,
    family_router,
    sms_router,
    voice_router,
    visit_router,
    outcomes_router,
    handoffs_router,
    metrics_router,
    reports_router,
    submissions_router,
    simulation_router,
    audit_router,
)


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Build the app; refuses a production start with placeholder secrets."""
    if services is None:
        settings = settings or load_settings()
        settings.check_can_start()
        services = Services.build(settings)
    else:
        services.settings.check_can_start()

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        services.close()

    app = FastAPI(
        title="House-call dispatch",
        summary="Night and holiday house-call coordination for home-care patients",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.services = services
    for router in ROUTERS:
        app.include_router(router)
    if services.settings.phone_simulator_enabled:
        app.include_router(_phone_simulator_router())
    web.install(app)
    install_error_handlers(app)
    install_nul_guard(app)
    settings = services.settings
    caps = BodyCaps(settings.max_json_body_bytes, settings.max_form_body_bytes, settings.max_webhook_body_bytes)
    install_body_limit(app, caps)  # before the NUL guard reads a body, after the request id is set
    install_memory_trim(app)  # a report's counting gives its heap back once the answer has gone
    install_observability(app)  # request ids, HTTP metrics, /livez and /readyz; wraps the middleware above
    enforce_declared_roles(app)
    enforce_area_scopes(app)  # an area coordinator reaches only their area's objects, on every route
    return app


def _phone_simulator_router() -> APIRouter:
    """The demo's phone simulator, imported only when it is mounted: it needs httpx (the `demo` extra)."""
    try:
        from dispatch.sms.simulator import router
    except ImportError as exc:
        raise RuntimeError(
            f"the phone simulator (SMS_PROVIDER=console) needs the demo extra: "
            f"pip install 'house-call-dispatch[demo]' ({exc.name} is missing)"
        ) from None
    return router


def app_from_environment() -> FastAPI:
    """The uvicorn factory: `uvicorn --factory dispatch.app:app_from_environment`."""
    app = create_app()
    freeze_startup_objects()
    return app
