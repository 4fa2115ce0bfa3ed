"""What a call says, in Japanese: a case reference, a town and a colour, never the patient."""

from __future__ import annotations

from dispatch.cases.states import URGENCY_LABELS_JA, Urgency

DIGIT_ACCEPT = "1"
DIGIT_DECLINE = "2"
NO_KEY_TEXT = "入力がありませんでした。SMSで返信してください。失礼します。"
UNREAD_KEY_TEXT = "入力を確認できませんでした。"
GIVE_UP_TEXT = "入力を確認できませんでした。SMSで返信してください。失礼します。"
ACCEPTED_TEXT = "受諾を受け付けました。詳細のリンクをSMSでお送りします。よろしくお願いします。"
DECLINED_TEXT = "辞退を受け付けました。ありがとうございました。"
CLOSED_TEXT = "この依頼は締め切られました。対応は不要です。ありがとうございました。"
BUSY_TEXT = "別の往診を担当中のため受諾できません。失礼します。"
DONE_TEXT = "入力は受け付け済みです。失礼します。"


def offer_call_text(case_id: int, municipality: str, urgency: Urgency) -> str:
    """The offer, spoken: case reference, town and colour, and which key to press."""
    colour = URGENCY_LABELS_JA[urgency]
    return f"往診依頼です。案件K{case_id}、{municipality}、緊急度 {colour}。受諾は1、辞退は2を押してください。"


def coordinator_call_text(case_id: int, municipality: str, urgency: Urgency) -> str:
    """The coordinator's alert, spoken: which case waits, and where to look."""
    colour = URGENCY_LABELS_JA[urgency]
    return (
        f"往診センターからの要対応連絡です。案件K{case_id}、{municipality}、緊急度 {colour}。"
        "代診医が決まっていません。コンソールを確認してください。"
    )
