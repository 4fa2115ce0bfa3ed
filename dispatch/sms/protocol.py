"""The SMS words: what an offer says (no patient data, ever) and how replies are read, leniently."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from dispatch.cases.states import URGENCY_LABELS_JA, Urgency


class Intent(StrEnum):
    accept = "accept"
    decline = "decline"
    en_route = "en_route"
    arrived = "arrived"
    completed = "completed"
    link = "link"  # a fresh details link for the visit they hold
    take_swap = "take_swap"  # 「交代 123」: take a colleague's shift swap 123 (the code is the swap's)
    reminders_off = "reminders_off"  # no reminder SMS before their shifts (`flow.shift_reminders`)
    reminders_on = "reminders_on"
    unreadable = "unreadable"


WORDS = {
    Intent.accept: {"Y", "YES", "OK", "1", "はい", "ハイ", "受諾", "了解", "承諾"},
    Intent.decline: {"N", "NO", "2", "いいえ", "イイエ", "辞退", "不可", "無理"},
    Intent.en_route: {"出発", "向かいます", "移動中"},
    Intent.arrived: {"到着", "着"},
    Intent.completed: {"完了", "終了"},
    Intent.link: {"リンク", "りんく", "LINK"},
    Intent.take_swap: {"交代"},
    Intent.reminders_off: {"通知停止"},
    Intent.reminders_on: {"通知再開"},
}
_LOOKUP = {word: intent for intent, words in WORDS.items() for word in words}
_CODE = re.compile(r"^#?K?(\d{1,9})$")


@dataclass(frozen=True)
class Reply:
    intent: Intent
    case_id: int | None  # the code the physician typed, if any


def read_reply(text: str) -> Reply:
    """Read '412 Y', 'y', 'はい', '１', '#K412 はい', '412到着' and the like."""
    normal = unicodedata.normalize("NFKC", text).strip().upper()
    normal = re.sub(r"[、。,.!！?？:：]", " ", normal)
    # A code glued to a word ('412Y', '412到着') is split apart.
    normal = re.sub(r"^(#?K?\d+)(?=[^\d\s])", r"\1 ", normal)
    tokens = normal.split()
    if not tokens or len(tokens) > 2:
        return Reply(Intent.unreadable, None)
    if len(tokens) == 1:
        intent = _LOOKUP.get(tokens[0])
        return Reply(intent or Intent.unreadable, None)
    code, word = tokens
    if _CODE.match(word) and not _CODE.match(code):  # 'Y 412'
        code, word = word, code
    match, intent = _CODE.match(code), _LOOKUP.get(word)
    if match is None or intent is None:
        return Reply(Intent.unreadable, None)
    return Reply(intent, int(match.group(1)))


def offer_text(case_id: int, municipality: str, urgency: Urgency) -> str:
    """The offer: case reference, area and colour, and how to answer. Never a name, diagnosis or address."""
    colour = URGENCY_LABELS_JA[urgency]
    return f"【往診依頼】#K{case_id} {municipality} {colour} 返信: {case_id} Y で受諾 / {case_id} N で辞退"


def accepted_text(case_id: int, link: str) -> str:
    return f"#K{case_id} 受諾を受け付けました。詳細(期限付き): {link} 到着したら「{case_id} 到着」と返信"


def declined_text(case_id: int) -> str:
    return f"#K{case_id} 辞退を受け付けました。ありがとうございました。"


def too_late_text(case_id: int) -> str:
    return f"#K{case_id} の依頼は締め切られました。返信ありがとうございました。"


def busy_text(case_id: int) -> str:
    return f"#K{case_id} 別の往診を担当中のため受諾できません。"


def status_text(case_id: int, intent: Intent) -> str:
    label = {Intent.en_route: "出発", Intent.arrived: "到着", Intent.completed: "完了"}[intent]
    follow = " 完了したら「完了」と返信" if intent is not Intent.completed else " お疲れさまでした。"
    return f"#K{case_id} {label}を記録しました。{follow}"


def withdrawn_text(case_id: int) -> str:
    return f"#K{case_id} の往診依頼は取り消されました。対応は不要です。"


def family_called_119_text(case_id: int) -> str:
    """To the physician who had accepted (or set off) when the family called 119 instead."""
    return f"#K{case_id} ご家族が119番通報されました。往診は不要です。ご対応ありがとうございました。"


# What the attending clinic is told of at once, by outcome code: a word, never the patient.
CLINIC_NOTICE_KINDS = {"death_pronounced": "看取り", "transported_admitted": "入院搬送"}


def clinic_notice_text(case_id: int, outcome: StrEnum, link: str) -> str:
    """To the attending clinic, at once: the reference, what happened (看取り/入院搬送) and where to read it."""
    kind = CLINIC_NOTICE_KINDS[outcome.value]
    return f"【夜間往診のお知らせ】#K{case_id} {kind}がありました。詳細は申し送り画面でご確認ください: {link}"


def relieved_text(case_id: int) -> str:
    """To the physician the coordinator took the case back from (to give it to another, or offer it again)."""
    return f"#K{case_id} の担当を解除しました。センターで手配し直します。対応は不要です。"


def arranged_text(case_id: int) -> str:
    """To a physician whose yes came after the centre had arranged the case otherwise."""
    return f"#K{case_id} はセンターで手配済みです。対応は不要です。返信ありがとうございました。"


def link_text(case_id: int, link: str) -> str:
    """A fresh details link, asked for with 「リンク」."""
    return f"#K{case_id} 詳細(期限付き): {link}"


HELP_TEXT = "返信を読み取れませんでした。受諾は「番号 Y」、辞退は「番号 N」と返信してください。例: 412 Y"
NOTHING_PENDING_TEXT = "現在お送りしている依頼はありません。"
SEVERAL_PENDING_TEXT = "依頼が複数あります。番号を付けて返信してください。例: 412 Y"
UNKNOWN_NUMBER_TEXT = "この番号は登録されていません。"
NO_VISIT_TEXT = "担当中の往診はありません。"
LINK_LIMIT_TEXT = "リンクの再送が続いたため、しばらく受け付けません。必要な場合はセンターへお電話ください。"


def coordinator_alert_text(case_id: int, municipality: str, urgency: Urgency, offers: int, reason: str) -> str:
    return f"【要対応】#K{case_id} {municipality} {URGENCY_LABELS_JA[urgency]} {reason}（打診{offers}件）"


def sms_cap_alert_text(recipient: str, per_hour: int, resumes: str | None) -> str:
    """The coordinator told that a number reached its hourly cap: what waits, and what happens to offers."""
    after = f"{resumes}以降に" if resumes else "枠が空き次第"
    return (
        f"【要確認】{recipient} 宛のSMSが1時間{per_hour}通の上限に達しました。"
        f"以降のSMSは保留し{after}順に送ります。往診依頼は次の代診医へ回します。"
    )


# To the family, at the callback number the caller gave (with their consent): the centre's name, the word
# 医師 and a time of day only; never the patient, the physician or the case.
def family_accepted_text(centre: str, eta: str) -> str:
    """A physician accepted: when they should arrive (e.g. '2時40分')."""
    return f"【{centre}】医師の訪問が決まりました。到着予定は{eta}ごろです。"


def family_departed_text(centre: str, eta: str) -> str:
    """The physician set off: the updated arrival time."""
    return f"【{centre}】医師がただいま出発しました。到着予定は{eta}ごろです。"


def family_delayed_text(centre: str) -> str:
    """The arrival time passed without an arrival: an apology. (No advice to call 119: a family at a death
    expected at home was asked not to.)"""
    return f"【{centre}】医師の到着が予定より遅れております。申し訳ございません。もうしばらくお待ちください。"
