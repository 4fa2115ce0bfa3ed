"""Kana as callers say it and operators type it, folded to one search key.

いんば, インバ, ｲﾝﾊﾞ and 「インバ　タロウ」 all fold to インバタロウ: half-width to full-width (NFKC),
hiragana to katakana, every space (full-width too) dropped; long vowels (ー) and small kana (ャ, ッ) kept."""

from __future__ import annotations

import unicodedata

import jaconv

LIKE_ESCAPE = "\\"


def fold(text: str) -> str:
    """Kana folded for comparison: NFKC, hiragana to katakana, no spaces."""
    return jaconv.hira2kata("".join(unicodedata.normalize("NFKC", text).split()))


def name_key(family_name_kana: str | None, given_name_kana: str | None) -> str:
    """A patient's search key: family and given name in kana, folded."""
    return fold((family_name_kana or "") + (given_name_kana or ""))


def prefix_pattern(key: str) -> str:
    """A LIKE pattern matching keys that start with `key`, its own % and _ taken literally."""
    escaped = (
        key.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    return escaped + "%"
