"""Thai text normalisation, digits, and Buddhist-era dates and times."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import thai
from protocol.errors import BadMessage
from protocol.thai import (
    BANGKOK,
    THAI_MONTHS,
    THAI_MONTHS_ABBR,
    as_bangkok,
    be_year,
    ce_year,
    fold_spaces,
    format_thai_date,
    format_thai_datetime,
    format_thai_time,
    normalize_thai,
    parse_thai_date,
    to_arabic_digits,
    to_thai_digits,
)

NIKHAHIT = "\u0e4d"
SARA_AA = "\u0e32"
SARA_AM = "\u0e33"
MAI_EK = "\u0e48"
MAI_THO = "\u0e49"
SARA_I = "\u0e34"
SARA_II = "\u0e35"
SARA_U = "\u0e38"
THANTHAKHAT = "\u0e4c"
SARA_E = "\u0e40"
SARA_AE = "\u0e41"
NO_NU = "\u0e19"

WATER = "น้ำ"  # NO NU, MAI THO, SARA AM: the canonical spelling


# --- normalize_thai --------------------------------------------------------------------

NORMALIZATION_CASES = [
    pytest.param("น" + NIKHAHIT + SARA_AA, "นำ", id="decomposed-sara-am"),
    pytest.param("นำ", "นำ", id="composed-sara-am-unchanged"),
    pytest.param(NO_NU + NIKHAHIT + MAI_THO + SARA_AA, WATER, id="tone-between-nikhahit-and-aa"),
    pytest.param(NO_NU + MAI_THO + NIKHAHIT + SARA_AA, WATER, id="tone-before-nikhahit"),
    pytest.param(NO_NU + NIKHAHIT + SARA_AA + MAI_THO, WATER, id="tone-after-decomposed-am"),
    pytest.param(NO_NU + SARA_AM + MAI_THO, WATER, id="tone-after-sara-am"),
    pytest.param("ท" + MAI_EK + SARA_II, "ที่", id="tone-before-above-vowel"),
    pytest.param("ป" + MAI_EK + SARA_U, "ปุ่", id="tone-before-below-vowel"),
    pytest.param("สิทธ" + THANTHAKHAT + SARA_I, "สิทธิ์", id="thanthakhat-before-vowel"),
    pytest.param("ที่" + MAI_EK, "ที่", id="repeated-tone-mark"),
    pytest.param("ท" + SARA_II + SARA_II + MAI_EK, "ที่", id="repeated-above-vowel"),
    pytest.param(SARA_E + SARA_E + "มว", "แมว", id="sara-e-twice-is-sara-ae"),
    pytest.param(SARA_E + "\u200b" + SARA_E + "มว", "แมว", id="sara-e-twice-across-zwsp"),
    pytest.param("เชียง\u200bใหม่", "เชียงใหม่", id="zero-width-space"),
    pytest.param("\ufeffหนังสือ", "หนังสือ", id="byte-order-mark"),
    pytest.param("กระ\u200c\u200dทรวง\u2060", "กระทรวง", id="zwnj-zwj-word-joiner"),
    pytest.param("มหา\u00adดไทย", "มหาดไทย", id="soft-hyphen"),
    pytest.param("e\u0301", "\u00e9", id="latin-is-nfc-composed"),
    pytest.param("e\u200d\u0301", "\u00e9", id="latin-nfc-after-dropping-zwj"),
    pytest.param("Saraban  v1 ", "Saraban  v1 ", id="latin-and-spacing-untouched"),
    pytest.param("ﬁ ①", "ﬁ ①", id="compatibility-characters-not-folded"),
]


@pytest.mark.parametrize(("raw", "expected"), NORMALIZATION_CASES)
def test_normalize_thai_golden(raw: str, expected: str) -> None:
    assert normalize_thai(raw) == expected


def test_decomposed_sara_am_is_composed() -> None:
    assert normalize_thai("ค" + NIKHAHIT + SARA_AA + "สั่ง") == "คำสั่ง"


def test_tone_mark_between_nikhahit_and_sara_aa_moves_before_sara_am() -> None:
    assert normalize_thai(NO_NU + NIKHAHIT + MAI_THO + SARA_AA) == NO_NU + MAI_THO + SARA_AM


def test_sara_am_survives_because_nfkc_is_never_applied() -> None:
    assert unicodedata.normalize("NFKC", SARA_AM) == NIKHAHIT + SARA_AA  # the trap
    assert normalize_thai("คำสั่ง") == "คำสั่ง"
    assert SARA_AM in normalize_thai(WATER)
    assert NIKHAHIT not in normalize_thai(WATER)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("หนังสือราชการ", id="ordinary"),
        pytest.param(SARA_E + SARA_E + SARA_E, id="three-sara-e"),
        pytest.param(NIKHAHIT + SARA_AA, id="leading-nikhahit"),
        pytest.param("ก" + NIKHAHIT + NIKHAHIT + SARA_AA + SARA_AA, id="doubled-am-parts"),
        pytest.param(SARA_U + "\u0e3a" + THANTHAKHAT + SARA_U, id="mixed-class-marks"),
    ],
)
def test_normalize_thai_is_idempotent(text: str) -> None:
    once = normalize_thai(text)
    assert normalize_thai(once) == once


THAI_AND_FRIENDS = st.text(
    alphabet=st.sampled_from(
        [chr(c) for c in range(0x0E01, 0x0E5C) if unicodedata.category(chr(c)) != "Cn"]
        + list("\u200b\u200c\u200d\u2060\ufeff\u00ad \u00a0aeé/.")
        + ["\u0301", "\u0323", "\u0300"]
    ),
    max_size=24,
)


@given(THAI_AND_FRIENDS)
def test_normalize_thai_is_idempotent_for_any_text(text: str) -> None:
    once = normalize_thai(text)
    assert normalize_thai(once) == once
    assert unicodedata.is_normalized("NFC", once)
    assert not set("\u200b\u200c\u200d\u2060\ufeff\u00ad") & set(once)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=16))
def test_normalize_thai_is_idempotent_for_any_unicode(text: str) -> None:
    once = normalize_thai(text)
    assert normalize_thai(once) == once


THAI_ONLY = st.text(
    alphabet=st.sampled_from([chr(c) for c in range(0x0E01, 0x0E4F)]),
    max_size=16,
)


@given(THAI_ONLY)
def test_normalized_thai_has_no_nikhahit_before_sara_aa(text: str) -> None:
    once = normalize_thai(text)
    assert NIKHAHIT + SARA_AA not in once
    assert SARA_E + SARA_E not in once


@given(st.one_of(THAI_AND_FRIENDS, THAI_ONLY, st.text(max_size=12)))
def test_text_already_normal_is_recognised_without_changing_the_result(text: str) -> None:
    # normalize_thai returns text it finds already normal as it is; it must find exactly
    # the text that the full rules would leave unchanged.
    full = thai._normalize_in_full(text)
    assert normalize_thai(text) == full
    assert normalize_thai(full) == full


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("ที่" + "\u0e48\u0e35", id="tone-before-vowel"),
        pytest.param("ก" + "\u0e34\u0e34", id="vowel-twice"),
        pytest.param("ก" + NIKHAHIT + "\u0e48" + SARA_AA, id="nikhahit-tone-sara-aa"),
        pytest.param("น" + SARA_AM + "\u0e49", id="tone-after-sara-am"),
        pytest.param("ข้อความ\u200bยาว", id="zero-width-space"),
        pytest.param(SARA_E + SARA_E + "ก", id="sara-e-twice"),
        pytest.param("ก" + "\u0e49\u0e4c", id="two-tones"),
        pytest.param("e\u0301 ก", id="decomposed-latin"),
    ],
)
def test_text_that_needs_work_is_normalised_in_full(text: str) -> None:
    assert normalize_thai(text) == thai._normalize_in_full(text)


# --- spaces and digits -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("  ชม   0017 ", "ชม 0017", id="ascii-runs"),
        pytest.param("ชม\u00a00017", "ชม 0017", id="nbsp"),
        pytest.param("ชม\u00a0 \u3000\t\n0017", "ชม 0017", id="mixed-run"),
        pytest.param("\u202fชม\u2009", "ชม", id="narrow-and-thin-spaces-stripped"),
        pytest.param("", "", id="empty"),
    ],
)
def test_fold_spaces(raw: str, expected: str) -> None:
    assert fold_spaces(raw) == expected


def test_thai_digits_convert_both_ways() -> None:
    assert to_arabic_digits("๐๑๒๓๔๕๖๗๘๙") == "0123456789"
    assert to_thai_digits("0123456789") == "๐๑๒๓๔๕๖๗๘๙"
    assert to_arabic_digits("ที่ ชม ๐๐๑๗.๓/ว ๔๕๖") == "ที่ ชม 0017.3/ว 456"


@given(st.text(max_size=20))
def test_digit_conversion_round_trips_arabic_digits(text: str) -> None:
    arabic = to_arabic_digits(text)
    assert to_arabic_digits(to_thai_digits(arabic)) == arabic


# --- years, months, time zone ----------------------------------------------------------


def test_buddhist_era_is_christian_era_plus_543() -> None:
    assert be_year(2026) == 2569
    assert ce_year(2569) == 2026


def test_month_tables_have_twelve_names_in_order() -> None:
    assert len(THAI_MONTHS) == len(THAI_MONTHS_ABBR) == 12
    assert THAI_MONTHS[0] == "มกราคม"
    assert THAI_MONTHS[10] == "พฤศจิกายน"
    assert THAI_MONTHS_ABBR[10] == "พ.ย."
    assert THAI_MONTHS_ABBR[11] == "ธ.ค."
    assert all(normalize_thai(name) == name for name in THAI_MONTHS + THAI_MONTHS_ABBR)


def test_naive_datetime_is_taken_as_bangkok_wall_time() -> None:
    moment = as_bangkok(datetime(2026, 11, 23, 14, 35))
    assert moment.tzinfo is BANGKOK
    assert (moment.hour, moment.minute) == (14, 35)


# --- formatting ------------------------------------------------------------------------

FORMAT_DATE_CASES = [
    pytest.param(date(2026, 11, 23), {}, "23 พฤศจิกายน 2569", id="full"),
    pytest.param(date(2026, 11, 23), {"abbreviated": True}, "23 พ.ย. 2569", id="abbreviated"),
    pytest.param(date(2026, 11, 23), {"thai_digits": True}, "๒๓ พฤศจิกายน ๒๕๖๙", id="thai"),
    pytest.param(
        date(2026, 1, 5),
        {"thai_digits": True, "abbreviated": True},
        "๕ ม.ค. ๒๕๖๙",
        id="thai-abbreviated-unpadded-day",
    ),
    pytest.param(
        datetime(2026, 12, 31, 17, 30, tzinfo=UTC), {}, "1 มกราคม 2570", id="utc-already-new-year"
    ),
    pytest.param(datetime(2026, 12, 31, 23, 59), {}, "31 ธันวาคม 2569", id="naive-is-bangkok"),
]


@pytest.mark.parametrize(("value", "options", "expected"), FORMAT_DATE_CASES)
def test_format_thai_date(value: date, options: dict[str, bool], expected: str) -> None:
    assert format_thai_date(value, **options) == expected


@pytest.mark.parametrize(
    ("value", "thai_digits", "expected"),
    [
        pytest.param(time(14, 35), False, "14.35 น.", id="afternoon"),
        pytest.param(time(9, 5), False, "9.05 น.", id="hour-unpadded-minutes-padded"),
        pytest.param(time(0, 0), False, "0.00 น.", id="midnight"),
        pytest.param(time(14, 35, 59), False, "14.35 น.", id="seconds-dropped"),
        pytest.param(time(9, 5), True, "๙.๐๕ น.", id="thai-digits"),
        pytest.param(datetime(2026, 11, 23, 7, 35, tzinfo=UTC), False, "14.35 น.", id="utc"),
        pytest.param(
            datetime(2026, 11, 23, 14, 35, tzinfo=timezone(timedelta(hours=9))),
            False,
            "12.35 น.",
            id="tokyo",
        ),
        pytest.param(datetime(2026, 11, 23, 14, 35), False, "14.35 น.", id="naive"),
    ],
)
def test_format_thai_time(value: time | datetime, thai_digits: bool, expected: str) -> None:
    assert format_thai_time(value, thai_digits=thai_digits) == expected


def test_format_thai_datetime_in_bangkok() -> None:
    moment = datetime(2026, 11, 23, 7, 35, tzinfo=UTC)
    assert format_thai_datetime(moment) == "23 พฤศจิกายน 2569 เวลา 14.35 น."
    assert format_thai_datetime(moment, thai_digits=True) == "๒๓ พฤศจิกายน ๒๕๖๙ เวลา ๑๔.๓๕ น."


def test_receipt_time_just_after_utc_midnight_is_morning_in_bangkok() -> None:
    moment = datetime(2026, 11, 22, 17, 5, tzinfo=UTC)
    assert format_thai_datetime(moment) == "23 พฤศจิกายน 2569 เวลา 0.05 น."


# --- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("23 พฤศจิกายน 2569", id="full"),
        pytest.param("23 พ.ย. 2569", id="abbreviated"),
        pytest.param("23 พ.ย.2569", id="abbreviated-no-space"),
        pytest.param("23 พย 2569", id="abbreviated-no-dots"),
        pytest.param("๒๓ พฤศจิกายน ๒๕๖๙", id="thai-digits"),
        pytest.param("23 พฤศจิกายน พ.ศ. 2569", id="with-pho-so"),
        pytest.param("วันที่ 23 พฤศจิกายน 2569", id="with-wan-thi"),
        pytest.param("\u00a023\u00a0พฤศจิกายน  2569 ", id="nbsp-and-extra-spaces"),
        pytest.param("23 พฤศ\u200bจิกายน 2569", id="zero-width-inside-month"),
        pytest.param("2026-11-23", id="iso"),
    ],
)
def test_parse_thai_date_accepts(text: str) -> None:
    assert parse_thai_date(text) == date(2026, 11, 23)


@pytest.mark.parametrize(
    "value",
    [date(2026, 1, 1), date(2026, 2, 28), date(2024, 2, 29), date(2026, 12, 31)],
    ids=str,
)
def test_format_then_parse_thai_date_round_trips(value: date) -> None:
    for abbreviated in (False, True):
        for thai_digits in (False, True):
            text = format_thai_date(value, abbreviated=abbreviated, thai_digits=thai_digits)
            assert parse_thai_date(text) == value


BAD_DATES = [
    pytest.param("", id="empty"),
    pytest.param("23 November 2569", id="english-month"),
    pytest.param("23/11/2569", id="slashes"),
    pytest.param("31 กุมภาพันธ์ 2569", id="no-such-day"),
    pytest.param("23 พฤศจิกายน 2026", id="christian-era-year"),
    pytest.param("23 พฤศจิกายน 69", id="two-digit-year"),
    pytest.param("2026-13-01", id="iso-bad-month"),
    pytest.param("20261123", id="iso-basic-format"),
    pytest.param("23 พฤศจิกายน 2569 เวลา 14.35 น.", id="trailing-time"),
]


@pytest.mark.parametrize("text", BAD_DATES)
def test_parse_thai_date_rejects(text: str) -> None:
    with pytest.raises(BadMessage):
        parse_thai_date(text)


def test_christian_era_year_in_thai_date_is_explained() -> None:
    with pytest.raises(BadMessage, match="Buddhist era"):
        parse_thai_date("23 พฤศจิกายน 2026")
