"""The SMS words (DESIGN.md §2 "SMS protocol"): offers carry no patient data; replies are read leniently."""

from __future__ import annotations

import inspect
import re

import pytest

from dispatch.cases.states import Urgency
from dispatch.outcomes.models import OutcomeCode
from dispatch.sms import protocol
from dispatch.sms.protocol import Intent, Reply, accepted_text, offer_text, read_reply, status_text

ACCEPT = ["Y", "YES", "yes", "はい", "1", "Ｙ", "１", "y", "Yes", "ｙｅｓ", "OK", "はい。", " Y "]
ACCEPT_WITH_CODE = [
    "412 Y",
    "#K412 はい",
    "K412 YES",
    "412Y",
    "Y 412",
    "４１２ Ｙ",
    "#412 y",
    "k412 yes",
    "412 1",
    "＃Ｋ４１２　はい",
    "412、はい",
]
DECLINE = ["N", "NO", "いいえ", "2", "辞退", "ｎ"]
DECLINE_WITH_CODE = ["412 N", "412N", "N 412", "#K412 いいえ", "412 辞退", "412 2"]
UNREADABLE = [
    "412",
    "hello there friend",
    "",
    "?? ??",
    "   ",
    "hello",
    "maybe 412",
    "412 413",
    "Y N",
    "412 Y please",
]


@pytest.mark.parametrize("text", ACCEPT)
def test_a_bare_yes_in_any_usual_form_accepts(text):
    assert read_reply(text) == Reply(Intent.accept, None)


@pytest.mark.parametrize("text", ACCEPT_WITH_CODE)
def test_a_yes_with_the_case_code_accepts_that_case(text):
    assert read_reply(text) == Reply(Intent.accept, 412)


@pytest.mark.parametrize("text", DECLINE)
def test_a_bare_no_declines(text):
    assert read_reply(text) == Reply(Intent.decline, None)


@pytest.mark.parametrize("text", DECLINE_WITH_CODE)
def test_a_no_with_the_case_code_declines_that_case(text):
    assert read_reply(text) == Reply(Intent.decline, 412)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("到着", Reply(Intent.arrived, None)),
        ("412 到着", Reply(Intent.arrived, 412)),
        ("412到着", Reply(Intent.arrived, 412)),
        ("#K412 到着", Reply(Intent.arrived, 412)),
        ("完了", Reply(Intent.completed, None)),
        ("412 完了", Reply(Intent.completed, 412)),
        ("出発", Reply(Intent.en_route, None)),
        ("412 出発", Reply(Intent.en_route, 412)),
    ],
)
def test_status_words_record_where_the_physician_is(text, expected):
    assert read_reply(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("リンク", Reply(Intent.link, None)),
        ("ﾘﾝｸ", Reply(Intent.link, None)),
        ("りんく", Reply(Intent.link, None)),
        ("link", Reply(Intent.link, None)),
        ("ＬＩＮＫ", Reply(Intent.link, None)),
        ("412 リンク", Reply(Intent.link, 412)),
        ("#K412 link", Reply(Intent.link, 412)),
        ("４１２リンク", Reply(Intent.link, 412)),
    ],
)
def test_link_asks_for_a_fresh_details_link(text, expected):
    assert read_reply(text) == expected


@pytest.mark.parametrize("text", UNREADABLE)
def test_anything_else_is_unreadable_and_names_no_case(text):
    assert read_reply(text) == Reply(Intent.unreadable, None)


def test_a_yes_is_never_read_as_a_no_or_the_other_way_round():
    for text in ACCEPT + ACCEPT_WITH_CODE:
        assert read_reply(text).intent is Intent.accept, text
    for text in DECLINE + DECLINE_WITH_CODE:
        assert read_reply(text).intent is Intent.decline, text


# --- what the service sends -----------------------------------------------------------------------------------


def test_the_offer_holds_only_the_case_reference_the_municipality_and_the_colour():
    assert (
        offer_text(412, "印西市", Urgency.orange)
        == "【往診依頼】#K412 印西市 橙 返信: 412 Y で受諾 / 412 N で辞退"
    )
    assert offer_text(7, "酒々井町", Urgency.red) == "【往診依頼】#K7 酒々井町 赤 返信: 7 Y で受諾 / 7 N で辞退"
    assert list(inspect.signature(offer_text).parameters) == ["case_id", "municipality", "urgency"]


@pytest.mark.parametrize(
    ("urgency", "colour"),
    [
        (Urgency.red, "赤"),
        (Urgency.orange, "橙"),
        (Urgency.yellow, "黄"),
        (Urgency.green, "緑"),
        (Urgency.white, "白"),
    ],
)
def test_the_offer_names_the_urgency_by_its_japanese_colour(urgency, colour):
    text = offer_text(412, "成田市", urgency)
    assert f" 成田市 {colour} " in text
    assert urgency.value not in text


def test_the_offer_fits_one_sms_and_its_own_instructions_are_understood():
    text = offer_text(123456, "酒々井町", Urgency.yellow)
    assert len(text) <= 70  # one UCS-2 segment: the phone shows one message, not a split one
    assert read_reply("123456 Y") == Reply(Intent.accept, 123456)
    assert read_reply("123456 N") == Reply(Intent.decline, 123456)
    assert "123456 Y" in text and "123456 N" in text


def test_the_acceptance_gives_the_link_and_the_case_reference_only():
    link = "https://dispatch.example.jp/v/abcDEF123"
    text = accepted_text(412, link)
    assert text == f"#K412 受諾を受け付けました。詳細(期限付き): {link} 到着したら「412 到着」と返信"
    assert list(inspect.signature(accepted_text).parameters) == ["case_id", "link"]
    said = re.search(r"「(.+?)」", text).group(1)
    assert read_reply(said) == Reply(Intent.arrived, 412)


@pytest.mark.parametrize("intent", [Intent.en_route, Intent.arrived])
def test_status_replies_confirm_and_say_what_to_send_next(intent):
    text = status_text(412, intent)
    assert text.startswith("#K412 ")
    said = re.search(r"「(.+?)」", text).group(1)
    assert read_reply(said).intent is Intent.completed


def test_the_completion_reply_thanks_and_asks_for_nothing_more():
    text = status_text(412, Intent.completed)
    assert text.startswith("#K412 完了")
    assert "「" not in text


def test_the_help_texts_give_examples_that_are_understood():
    for text in (protocol.HELP_TEXT, protocol.SEVERAL_PENDING_TEXT):
        example = text.rsplit("例:", 1)[1].strip()
        assert read_reply(example) == Reply(Intent.accept, 412)


def _text_functions():
    return {
        name: fn
        for name, fn in vars(protocol).items()
        if name.endswith("_text") and inspect.isfunction(fn) and fn.__module__ == protocol.__name__
    }


def _sample_arguments(fn) -> dict:
    samples = {
        "case_id": 412,
        "municipality": "印西市",
        "urgency": Urgency.orange,
        "intent": Intent.arrived,
        "offers": 3,
        "reason": "受諾なし",
        # The cap's alert to the coordinator: whose phone (a physician's name, or a masked number; staff, never
        # a patient), the cap and when held SMS resume.
        "recipient": "代診 成田",
        "per_hour": 30,
        "resumes": "00:05",
        # The attending clinic's notice: what happened, as an outcome code.
        "outcome": OutcomeCode.death_pronounced,
        "link": "https://dispatch.example.jp/handoffs?case=412",
        # The family's updates: the centre's name and a time of day only.
        "centre": "印旛夜間往診センター",
        "eta": "2時40分",
    }
    params = inspect.signature(fn).parameters
    unknown = set(params) - set(samples)
    assert not unknown, f"{fn.__name__} takes {unknown}: SMS texts take case references and areas only"
    return {name: samples[name] for name in params}


def _japanese(text: str) -> bool:
    return re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text) is not None


def test_every_text_sent_is_japanese_and_takes_no_patient_data():
    functions = _text_functions()
    assert {"offer_text", "accepted_text", "declined_text", "too_late_text", "busy_text"} <= set(functions)
    assert {"status_text", "withdrawn_text", "coordinator_alert_text"} <= set(functions)
    assert {"relieved_text", "arranged_text", "link_text"} <= set(functions)
    for name, fn in functions.items():
        text = fn(**_sample_arguments(fn))
        assert _japanese(text), name
        if "case_id" in inspect.signature(fn).parameters:
            assert "#K412" in text, name
    constants = {name: value for name, value in vars(protocol).items() if name.endswith("_TEXT")}
    assert set(constants) >= {
        "HELP_TEXT",
        "NOTHING_PENDING_TEXT",
        "SEVERAL_PENDING_TEXT",
        "UNKNOWN_NUMBER_TEXT",
        "NO_VISIT_TEXT",
        "LINK_LIMIT_TEXT",
    }
    for name, value in constants.items():
        assert isinstance(value, str) and _japanese(value), name


def test_the_short_replies_name_the_case_and_nothing_else():
    assert protocol.declined_text(412) == "#K412 辞退を受け付けました。ありがとうございました。"
    assert protocol.too_late_text(412) == "#K412 の依頼は締め切られました。返信ありがとうございました。"
    assert protocol.busy_text(412) == "#K412 別の往診を担当中のため受諾できません。"
    assert protocol.withdrawn_text(412) == "#K412 の往診依頼は取り消されました。対応は不要です。"
    assert (
        protocol.relieved_text(412) == "#K412 の担当を解除しました。センターで手配し直します。対応は不要です。"
    )
    assert (
        protocol.arranged_text(412)
        == "#K412 はセンターで手配済みです。対応は不要です。返信ありがとうございました。"
    )
    assert protocol.UNKNOWN_NUMBER_TEXT == "この番号は登録されていません。"
    no_case = protocol.UNKNOWN_NUMBER_TEXT + protocol.NOTHING_PENDING_TEXT + protocol.NO_VISIT_TEXT
    assert not re.search(r"\d", no_case + protocol.LINK_LIMIT_TEXT)


def test_the_coordinator_alert_names_the_case_area_colour_and_tries():
    text = protocol.coordinator_alert_text(412, "印西市", Urgency.red, 3, "候補者なし")
    assert text == "【要対応】#K412 印西市 赤 候補者なし（打診3件）"
