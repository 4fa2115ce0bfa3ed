"""Opening the physician's signed link from a route: the offer and case behind it, or why not (404, 410).
The details page itself (a template) is `dispatch.web.visit`; the outcome post is `dispatch.outcomes.router`."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from dispatch.cases.models import Case
from dispatch.deps import get_services
from dispatch.offers.links import LinkClosed, LinkInvalid, open_visit
from dispatch.offers.models import Offer


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


REFUSALS = {
    404: "このリンクは正しくありません。",
    # The same words whatever ended it (the visit closed, the link revoked or expired): nothing to learn.
    410: "このリンクは使えなくなりました。"
    "担当中の往診があれば、SMSで「リンク」と返信すると新しいリンクが届きます。",
}
