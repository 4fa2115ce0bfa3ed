"""The console's pages. Each page is a server-rendered shell in the reader's language; its script talks to
the same JSON API as everyone else, with the login cookie. Pages declare their roles like every route."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from dispatch.auth.guard import current_user, logged_in_user, public
from dispatch.auth.models import Role, User
from dispatch.cases.router import CASE_READERS
from dispatch.deps import db_session, get_services
from dispatch.handoffs.router import READERS as HANDOFF_READERS
from dispatch.ids import PathId
from dispatch.reports.router import REPORT_READERS
from dispatch.submissions.router import SUBMISSION_READERS
from dispatch.web import i18n
from dispatch.web.guard import (
    EnrolmentRequired,
    LoginRequired,
    PageForbidden,
    PageNotFound,
    Viewer,
    login_url,
    page,
    safe_next,
)

router = APIRouter(include_in_schema=False, tags=["console"])
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

R = Role
BOARD = (R.operator, R.consulting_physician, R.coordinator, R.admin)
INTAKE = (R.operator,)
TRIAGE = (R.consulting_physician, R.operator, R.coordinator, R.admin)
DISPATCH = (R.coordinator, R.operator, R.consulting_physician, R.admin)
OUTBOX = (R.operator, R.coordinator, R.admin)
USERS = (R.admin,)
ROSTER = (R.coordinator, R.admin)
PHONE = (R.operator, R.coordinator, R.admin, R.substitute_physician)
SWAPS = (R.substitute_physician, R.coordinator, R.admin)
ME = (R.substitute_physician,)
HOME = {
    R.operator: "/board",
    R.consulting_physician: "/triage",
    R.substitute_physician: "/phone",
    R.coordinator: "/dispatch",
    R.clinic_admin: "/handoffs",
    R.prefecture_analyst: "/reports",
    R.admin: "/board",
}


@dataclass(frozen=True)
class Page:
    """A console page that is its template and nothing more: the script does the rest."""

    path: str
    template: str
    roles: tuple[Role, ...]
    summary: str
    demo_only: bool = False  # only with the demo's phone simulator


# In the order of the navigation bar; each role sees the pages it may open.
PAGES = (
    Page("/board", "board.html", BOARD, "Open cases by state, live."),
    Page("/intake", "intake.html", INTAKE, "Log a call: patient search, the care profile beside it, the form."),
    Page("/triage", "triage.html", TRIAGE, "The consulting physician's queue, claim, profile and decision."),
    Page("/dispatch", "dispatch.html", DISPATCH, "Offers, replies, deadlines; the coordinator's hand moves."),
    Page(
        "/gaps",
        "gaps.html",
        (R.coordinator, R.admin),
        "Coverage gaps: the next 14 nights' towns short of a physician.",
    ),
    Page("/roster", "roster.html", ROSTER, "The month's roster from the rotations: generate, check, publish."),
    Page("/handoffs", "handoffs.html", HANDOFF_READERS, "Morning handoffs per clinic, with their receipt."),
    Page("/reports", "reports.html", REPORT_READERS, "The per-clinic table, the monthly chart, downloads."),
    Page(
        "/submissions",
        "submissions.html",
        SUBMISSION_READERS,
        "Monthly submissions: status, submit, changes since.",
    ),
    Page("/swaps", "swaps.html", SWAPS, "Shift swaps: ask, take, and the coordinator's approval."),
    Page("/outbox", "outbox.html", OUTBOX, "Every SMS the service sent and received."),
    Page("/phone", "phone.html", PHONE, "Demo only: the physicians' phones, to answer offers.", demo_only=True),
    Page("/me", "me.html", ME, "The substitute's own shifts: a calendar link, reminders before each shift."),
    Page("/users", "users.html", USERS, "Every user: deactivate, activate, set a new password."),
)
TWO_FACTOR_PAGE = "/two-factor"  # in the header for everyone; where a login still to enrol is sent
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
NAV_KEYS = {p.path: f"nav.{p.path.strip('/')}" for p in PAGES}


def render(
    request: Request, template: str, user: User | Viewer | None, status_code: int = 200, **extra: Any
) -> Response:
    """A page in the reader's language, with what its script needs to know."""
    services = get_services(request)
    lang = i18n.language(request)
    simulator = services.settings.phone_simulator_enabled
    # A login still to enrol its second factor may open no page but that one.
    enrolling = getattr(request.state, "enrolment_only", False)
    nav = [
        (p.path, NAV_KEYS[p.path])
        for p in PAGES
        if user is not None and user.role in p.roles and (simulator or not p.demo_only) and not enrolling
    ]
    boot = {
        "lang": lang,
        "timezone": services.settings.timezone,
        "serverNow": services.clock.now().isoformat(),
        # The centre's own programme: what a page shows when no area is picked (area_picker.js).
        "programmeCode": services.settings.programme_code,
        "user": (
            {
                "username": user.username,
                "role": user.role.value,
                "name": user.display_name,
                "physicianId": user.physician_id,
            }
            if user
            else None
        ),
        "messages": i18n.messages(lang),
        "labels": i18n.labels(lang),
        **extra.pop("boot", {}),
    }
    context = {
        "lang": lang,
        "t": i18n.messages(lang),
        "labels": i18n.labels(lang),
        "user": user,
        "nav": nav,
        "here": request.url.path,
        # An area coordinator's area, named in the header: they see and act on that area only.
        "area_name": getattr(request.state, "area_name", None),
        "boot_json": script_safe_json(boot),
        **extra,
    }
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    # Only this site's own scripts and styles; no framing (clickjacking); forms post only here.
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def script_safe_json(data: Any) -> str:
    """JSON to embed in a <script> element: no `<`, `>` or `&`, so nothing in it can close the element."""
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _user_facts(user: User | Viewer | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "username": user.username,
        "role": user.role.value,
        "name": user.display_name,
        "physicianId": user.physician_id,
    }


def home_of(request: Request, role: Role) -> str:
    """The role's own page; a substitute's is /me where the demo's phone simulator is not mounted."""
    path = HOME[role]
    if path == "/phone" and not get_services(request).settings.phone_simulator_enabled:
        return "/me"
    return path


@router.get("/", dependencies=[page(*Role)])
def home(request: Request, user: User = Depends(current_user)) -> RedirectResponse:
    """Each role starts on its own page."""
    return RedirectResponse(home_of(request, user.role), status_code=303)


@router.get("/login", response_class=HTMLResponse, dependencies=[public()])
def login_page(request: Request, next: str | None = Query(None, max_length=500), session=Depends(db_session)):
    """The login form; a logged-in visitor goes straight on."""
    user = logged_in_user(request, session)
    if user is not None:
        return RedirectResponse(safe_next(next) if next else home_of(request, user.role), status_code=303)
    remember_s = get_services(request).settings.two_factor_remember_s
    remember_hours = f"{remember_s / 3600:g}" if remember_s else None  # "この端末を記憶する（16時間）"
    return render(request, "login.html", None, next_path=safe_next(next), remember_hours=remember_hours)


@router.get(TWO_FACTOR_PAGE, response_class=HTMLResponse, dependencies=[page(*Role, enrolling=True)])
def two_factor_page(request: Request, user: User = Depends(current_user)) -> Response:
    """The caller's second factor: enrol with a QR code, confirm, recovery codes, turn off."""
    return render(request, "two_factor.html", user)


@router.get("/language/{lang}", dependencies=[public()])
def choose_language(lang: str, next: str | None = Query(None, max_length=500)) -> RedirectResponse:
    """Switch the console between Japanese and English (a cookie), then go back."""
    if lang not in i18n.LANGUAGES:
        raise HTTPException(404, detail=f"lang: choose one of {', '.join(i18n.LANGUAGES)}")
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(i18n.LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


@router.get("/cases/{case_id}", response_class=HTMLResponse, dependencies=[page(*CASE_READERS)])
def case_page(request: Request, case_id: PathId, user: User = Depends(current_user)) -> Response:
    """One case: its timeline, offers, progress and the outcome form."""
    return render(request, "case.html", user, case_id=case_id, boot={"caseId": case_id})


@router.get("/account", response_class=HTMLResponse, dependencies=[page(*Role)])
def account_page(request: Request, user: User = Depends(current_user)) -> Response:
    """One's own account: a new password, and logging out on every device."""
    return render(request, "account.html", user)


def _page_route(shown: Page):
    def show(request: Request, user: User = Depends(current_user)) -> Response:
        if shown.demo_only and not get_services(request).settings.phone_simulator_enabled:
            return render(request, "message.html", user, status_code=404, title_key="notfound.title")
        return render(request, shown.template, user)

    show.__name__ = f"{shown.template.removesuffix('.html')}_page"
    show.__doc__ = shown.summary
    return show


for _shown in PAGES:
    router.add_api_route(
        _shown.path,
        _page_route(_shown),
        methods=["GET"],
        response_class=HTMLResponse,
        dependencies=[page(*_shown.roles)],
        summary=_shown.summary,
    )


def install(app: FastAPI) -> None:
    """Add the pages, their static files, and the browser's answers to 'log in first' and 'not yours'."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    @app.exception_handler(LoginRequired)
    async def _login_first(_: Request, exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    @app.exception_handler(EnrolmentRequired)
    async def _enrol_first(_: Request, exc: EnrolmentRequired) -> RedirectResponse:
        return RedirectResponse(TWO_FACTOR_PAGE, status_code=303)

    @app.exception_handler(PageNotFound)
    async def _not_found(request: Request, exc: PageNotFound) -> Response:
        return render(request, "message.html", exc.viewer, status_code=404, title_key="notfound.title")

    @app.exception_handler(PageForbidden)
    async def _not_yours(request: Request, exc: PageForbidden) -> Response:
        return render(
            request,
            "message.html",
            exc.viewer,
            status_code=403,
            title_key="forbidden.title",
            body_key="forbidden.body",
            home=home_of(request, exc.viewer.role),
        )
