"""「交代 123」 by SMS: a physician takes swap 123 as on the console; the answer says what became of it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dispatch.clock import Clock
from dispatch.programme.service import get_programme
from dispatch.roster import swaps
from dispatch.roster.models import Physician, PhysicianRole
from dispatch.roster.service import RosterRejected
from dispatch.sms.service import queue_sms

NO_NUMBER_TEXT = "交代依頼の番号を付けて返信してください。例: 交代 123"


def answer_swap(
    session: Session, clock: Clock, programme_code: str, physician: Physician, swap_id: int | None
) -> str:
    """Take the swap for the physician who sent the SMS; queue the notices; the text to answer with."""
    if swap_id is None:
        return NO_NUMBER_TEXT
    if physician.role is not PhysicianRole.substitute:
        return f"#S{swap_id} 当番交代は代診医の先生のみ引き受けられます。"
    programme = get_programme(session, programme_code)
    try:
        with session.begin_nested():  # a refusal leaves the inbound message recorded
            swap, notices = swaps.take(
                session,
                clock,
                programme,
                user=None,
                taker_id=physician.id,
                swap_id=swap_id,
                in_exchange_shift_id=None,
            )
    except LookupError:
        return f"#S{swap_id} の交代依頼は見つかりません。"
    except swaps.SwapConflict:
        return f"#S{swap_id} はすでに引き受けられたか、締め切られました。"
    except RosterRejected:
        return f"#S{swap_id} はSMSでは引き受けられません。コンソールの「当番交代」からお願いします。"
    for notice in notices:
        queue_sms(session, clock, notice.phone, notice.body, notice.purpose)
    if swap.state is swaps.SwapState.approved:
        return f"#S{swap.id} の当番を引き受けました。交代は確定しています。"
    return f"#S{swap.id} の当番を引き受けました。コーディネーターの承認をお待ちください。"
