"""The page behind the physician's signed link (a template, dark, for a phone at night): the case details
only after accepting, every read audited; its next-step button posts the visit's progress here."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from dispatch.audit import service as audit
from dispatch.auth.guard import public
from dispatch.cases.lifecycle import Actor
from dispatch.deps import db_session, get_services
from dispatch.offers import progress
from dispatch.offers.visit import REFUSALS, LinkRefused, case_for_link
from dispatch.sms.protocol import Intent
from dispatch.web import i18n
from dispatch.web.visit_view import build

router = APIRouter(tags=["visit link"])
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token never leaves in a Referer (to the map, say)
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
}


def _script_json(data: dict[str, str]) -> str:
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def refusal_page(request: Request, refused: LinkRefused) -> Response:
    """One sentence in Japanese: no case, no patient, no state."""
    lang = i18n.language(request)
    context = {"lang": lang, "t": i18n.messages(lang), "sentence": REFUSALS[refused.status]}
    return templates.TemplateResponse(
        request, "visit_closed.html", context, status_code=refused.status, headers=HEADERS
    )


@router.get("/visit/{token}", response_class=HTMLResponse, dependencies=[public()])
def visit_page(token: str, request: Request, session: Session = Depends(db_session)) -> Response:
    """The case for the physician who accepted it: patient, address, care profile, next step, outcome."""
    try:
        offer, case = case_for_link(request, session, token)
    except LinkRefused as refused:
        return refusal_page(request, refused)
    services = get_services(request)
    audit.record(
        session,
        services.clock,
        None,
        "case.read.visit_link",
        patient_id=case.patient_id,
        case_id=case.id,
        detail={"physician_id": offer.physician_id},
    )
    lang = i18n.language(request)
    t, labels = i18n.messages(lang), i18n.labels(lang)
    view = build(
        session, case, clock=services.clock, tz=ZoneInfo(services.settings.timezone), t=t, labels=labels
    )
    session.commit()
    words = {key: value for key, value in t.items() if key.startswith("visit.")}
    context = {"lang": lang, "t": t, "v": view, "words_json": _script_json(words)}
    return templates.TemplateResponse(request, "visit.html", context, headers=HEADERS)


@router.post("/visit/{token}/progress", dependencies=[public()])
def visit_progress(
    token: str,
    request: Request,
    step: str = Form(pattern="^(en_route|arrived|completed)$"),
    session: Session = Depends(db_session),
) -> Response:
    """Record 出発 / 到着 / 完了 from the details page."""
    try:
        offer, case = case_for_link(request, session, token)
    except LinkRefused as refused:
        return refusal_page(request, refused)
    try:
        progress.report(
            session,
            get_services(request).clock,
            case,
            Intent(step),
            Actor(label=f"link:physician-{offer.physician_id}"),
        )
    except progress.ProgressRefused as exc:
        raise HTTPException(409, detail=str(exc)) from None
    session.commit()
    return RedirectResponse(f"/visit/{token}", status_code=303)
