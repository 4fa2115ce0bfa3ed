"""The page behind the physician's signed link: the case details, only after accepting, audited."""

from __future__ import annotations

import html

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from dispatch.audit import service as audit
from dispatch.auth.guard import public
from dispatch.cases.lifecycle import Actor
from dispatch.cases.models import Case
from dispatch.cases.states import URGENCY_LABELS_JA
from dispatch.deps import db_session, get_services
from dispatch.offers import progress
from dispatch.offers.links import LinkClosed, LinkInvalid, open_visit
from dispatch.offers.models import Offer
from dispatch.patients.models import Patient
from dispatch.sms.protocol import Intent

router = APIRouter(tags=["visit link"])


class LinkRefused(Exception):
    """The link does not open the case (now): 404 for one we never signed, 410 for one that has ended."""

    def __init__(self, status: int) -> None:
        super().__init__("this link no longer opens the case" if status == 410 else "this link is not valid")
        self.status = status


def case_for_link(request: Request, session: Session, token: str) -> tuple[Offer, Case]:
    """The offer and case behind a link that still opens them; LinkRefused otherwise."""
    try:
        return open_visit(session, get_services(request).settings.secret_key.get_secret_value(), token)
    except LinkInvalid:
        raise LinkRefused(404) from None
    except LinkClosed:
        raise LinkRefused(410) from None


PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
REFUSALS = {
    404: "このリンクは正しくありません。",
    # The same words whatever ended it (the visit closed, the link revoked or expired): nothing to learn.
    410: "このリンクは使えなくなりました。"
    "担当中の往診があれば、SMSで「リンク」と返信すると新しいリンクが届きます。",
}


def refusal_page(refused: LinkRefused) -> HTMLResponse:
    """A plain page in Japanese: no case, no patient, no state."""
    page = (
        '<!doctype html><html lang="ja"><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width"><title>往診</title><p>{REFUSALS[refused.status]}</p></html>'
    )
    return HTMLResponse(page, status_code=refused.status, headers=PRIVATE)


def _row(label: str, value: object) -> str:
    return f"<tr><th>{html.escape(label)}</th><td>{html.escape(str(value or '—'))}</td></tr>"


@router.get("/visit/{token}", response_class=HTMLResponse, dependencies=[public()])
def visit_page(token: str, request: Request, session: Session = Depends(db_session)) -> HTMLResponse:
    """The case for the physician who accepted it: patient, address, care profile, and progress buttons."""
    try:
        offer, case = case_for_link(request, session, token)
    except LinkRefused as refused:
        return refusal_page(refused)
    patient = session.get(Patient, case.patient_id) if case.patient_id else None
    audit.record(
        session,
        get_services(request).clock,
        None,
        "case.read.visit_link",
        patient_id=case.patient_id,
        case_id=case.id,
        detail={"physician_id": offer.physician_id},
    )
    session.commit()
    rows = [
        _row("案件", f"#K{case.id}"),
        _row("緊急度", URGENCY_LABELS_JA[case.urgency] if case.urgency is not None else ""),
        _row("状態", case.state.value),
        _row("主訴", case.chief_complaint),
        _row("連絡先", case.callback_phone_e164),
    ]
    if patient is not None:
        rows += [
            _row("患者", f"{patient.family_name} {patient.given_name}"),
            _row("住所", patient.address),
            _row("診断", "、".join(patient.diagnoses)),
            _row("ACP/DNAR", patient.acp),
            _row("医療機器", "、".join(patient.devices)),
            _row("キーパーソン", patient.key_person),
        ]
    buttons = "".join(
        f'<form method="post" action="/visit/{html.escape(token)}/progress"><input type="hidden" name="step" '
        f'value="{step}"><button>{label}</button></form>'
        for step, label in (("en_route", "出発"), ("arrived", "到着"), ("completed", "完了"))
    )
    page = (
        f'<!doctype html><html lang="ja"><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width"><title>#K{case.id}</title><h1>往診 #K{case.id}</h1>'
        f"<table>{''.join(rows)}</table>{buttons}</html>"
    )
    return HTMLResponse(page, headers=PRIVATE)


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
        return refusal_page(refused)
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
