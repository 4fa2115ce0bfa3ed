"""A submission as CSV (UTF-8 with BOM, for Japanese Excel): every number, submitted and now, changes marked."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from dispatch.reports.formats import to_csv
from dispatch.submissions.differences import changed_paths, numbers
from dispatch.submissions.schemas import SubmissionDetail

# The report's words in the seed's Japanese; a field added later appears under its own name.
WORDS_JA = {
    "totals": "合計",
    "by_clinic": "医療機関別",
    "by_municipality": "市町村別",
    "call_to_decision": "受電→判断",
    "decision_to_acceptance": "判断→受諾",
    "acceptance_to_arrival": "受諾→到着",
    "offers_declined": "辞退",
    "offers_timed_out": "応答なし",
    "coordinator_alerts": "コーディネーター通知",
    "excluded": "集計対象外",
    "consultations": "医療相談",
    "house_calls": "往診",
    "end_of_life": "看取り",
    "count": "件数",
    "median_min": "中央値(分)",
    "p90_min": "90%(分)",
    "out_of_hours": "時間外",
    "out_of_contract": "契約外",
    "unidentified": "患者不明",
    "cancelled_before_decision": "判断前の取消",
    "open": "対応中",
    "no_outcome": "結果未入力",
}
HEADERS_JA = ["区分", "名称", "項目", "提出時", "現在", "変更"]


def submission_csv(detail: SubmissionDetail, timezone: str) -> bytes:
    """The month's submitted figures beside today's, one number a line, with who submitted it and when."""
    at = detail.submitted_at.astimezone(ZoneInfo(timezone))
    rows: list[list] = [
        ["月", detail.month],
        ["版", detail.version],
        ["提出日時", f"{at:%Y-%m-%d %H:%M}"],
        ["提出者", detail.submitted_by],
        ["備考", detail.note or ""],
        ["提出後の変更", len(detail.differences)],
        [],
        HEADERS_JA,
    ]
    before, after = numbers(detail.submitted), numbers(detail.now)
    changed = set(changed_paths(before, after))
    for path in [*after, *(p for p in before if p not in after)]:
        name = "・".join(path[1:-1]) if len(path) > 2 else ""
        field = path[-1] if len(path) > 1 else ""
        rows.append(
            [
                WORDS_JA.get(path[0], path[0]),
                name,
                WORDS_JA.get(field, field),
                before.get(path),
                after.get(path),
                "変更あり" if path in changed else "",
            ]
        )
    return to_csv(rows)
