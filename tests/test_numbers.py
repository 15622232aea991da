"""Letter numbers, unit codes, register keys and the year a running number belongs to."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import BadLetterNumber, BadMessage
from protocol.numbers import (
    UNIT_CODE_RE,
    Instrument,
    LetterNumber,
    RegisterKey,
    Series,
    YearBasis,
    parse_letter_number,
    parse_unit_code,
    register_year,
    search_key,
)
from protocol.thai import BANGKOK

# --- register years --------------------------------------------------------------------

CALENDAR_YEAR_CASES = [
    pytest.param(date(2026, 12, 31), 2569, id="last-day-of-year"),
    pytest.param(date(2027, 1, 1), 2570, id="first-day-of-year"),
    pytest.param(datetime(2026, 12, 31, 23, 59, 59, tzinfo=BANGKOK), 2569, id="bangkok-23-59"),
    pytest.param(datetime(2027, 1, 1, 0, 0, tzinfo=BANGKOK), 2570, id="bangkok-midnight"),
    pytest.param(datetime(2026, 12, 31, 16, 59, 59, tzinfo=UTC), 2569, id="utc-before-midnight"),
    pytest.param(datetime(2026, 12, 31, 17, 30, tzinfo=UTC), 2570, id="utc-already-new-year"),
    pytest.param(datetime(2026, 12, 31, 23, 59), 2569, id="naive-is-bangkok"),
    pytest.param(
        datetime(2027, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=9))),
        2569,
        id="tokyo-new-year-is-still-old-year-in-bangkok",
    ),
]


@pytest.mark.parametrize(("when", "expected"), CALENDAR_YEAR_CASES)
def test_calendar_register_year(when: date, expected: int) -> None:
    assert register_year(when, YearBasis.CALENDAR) == expected


def test_first_number_after_new_year_in_bangkok_belongs_to_new_year() -> None:
    bangkok_midnight = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
    assert register_year(bangkok_midnight, YearBasis.CALENDAR) == 2570
    assert register_year(bangkok_midnight - timedelta(seconds=1), YearBasis.CALENDAR) == 2569


def test_year_basis_read_from_settings_as_plain_string_is_honoured() -> None:
    basis: str = "fiscal"
    assert register_year(date(2026, 10, 1), YearBasis(basis)) == 2570
    assert register_year(date(2026, 10, 1), basis) == 2570  # type: ignore[arg-type]


FISCAL_YEAR_CASES = [
    pytest.param(date(2026, 9, 30), 2569, id="30-sep-ends-fy"),
    pytest.param(date(2026, 10, 1), 2570, id="1-oct-starts-next-fy"),
    pytest.param(date(2025, 10, 1), 2569, id="fy2569-starts-oct-2568"),
    pytest.param(date(2026, 1, 15), 2569, id="january-mid-fy"),
    pytest.param(date(2026, 12, 31), 2570, id="december-in-next-fy"),
    pytest.param(datetime(2026, 9, 30, 17, 0, tzinfo=UTC), 2570, id="utc-already-1-oct-bangkok"),
    pytest.param(datetime(2026, 9, 30, 16, 59, tzinfo=UTC), 2569, id="utc-still-30-sep-bangkok"),
]


@pytest.mark.parametrize(("when", "expected"), FISCAL_YEAR_CASES)
def test_fiscal_register_year(when: date, expected: int) -> None:
    assert register_year(when, YearBasis.FISCAL) == expected


def test_fiscal_year_is_named_after_the_year_it_ends_in() -> None:
    start = register_year(date(2025, 10, 1), YearBasis.FISCAL)
    end = register_year(date(2026, 9, 30), YearBasis.FISCAL)
    assert start == end == 2569


# --- register keys ---------------------------------------------------------------------


def test_register_key_id_round_trips() -> None:
    key = RegisterKey(owner="ชม 0017", series=Series.OUTGOING, year=2569)
    assert key.as_id() == "ชม 0017|ส่ง|2569"
    assert RegisterKey.from_id("ชม 0017|ส่ง|2569") == key


@pytest.mark.parametrize("series", list(Series), ids=lambda s: s.name)
def test_every_series_round_trips_through_register_id(series: Series) -> None:
    key = RegisterKey(owner="มท 0212.3", series=series, year=2570)
    assert RegisterKey.from_id(key.as_id()) == key


def test_register_key_canonicalises_owner_so_equal_registers_are_equal() -> None:
    typed = RegisterKey(owner="ชม๐๐๑๗", series=Series("ว"), year=2569)
    assert typed == RegisterKey(owner="ชม 0017", series=Series.CIRCULAR, year=2569)
    assert typed.as_id() == "ชม 0017|ว|2569"


BAD_REGISTER_IDS = [
    pytest.param("", id="empty"),
    pytest.param("ชม 0017|ส่ง", id="two-parts"),
    pytest.param("ชม 0017|ส่ง|2569|x", id="four-parts"),
    pytest.param("ชม 0017|ขาย|2569", id="unknown-series"),
    pytest.param("ชม 0017|ส่ง|2026", id="christian-era-year"),
    pytest.param("ชม 0017|ส่ง|๒๕๖๙", id="thai-digit-year"),
    pytest.param("ชม 0017|ส่ง|+2569", id="signed-year"),
    pytest.param("ชม0017|ส่ง|2569", id="owner-not-canonical"),
    pytest.param("hello|ส่ง|2569", id="owner-not-a-unit-code"),
    pytest.param("ชม 0017 |ส่ง|2569", id="trailing-space"),
]


@pytest.mark.parametrize("text", BAD_REGISTER_IDS)
def test_register_key_from_id_rejects(text: str) -> None:
    with pytest.raises(BadMessage):
        RegisterKey.from_id(text)


# --- unit codes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("ชม 0017.3", id="canonical"),
        pytest.param("ชม0017.3", id="no-space"),
        pytest.param("ชม  0017.3", id="two-spaces"),
        pytest.param("ชม\u00a00017.3", id="nbsp"),
        pytest.param("ชม ๐๐๑๗.๓", id="thai-digits"),
        pytest.param(" ชม 0017\u200b.3 ", id="zero-width-and-padding"),
    ],
)
def test_unit_code_variants_have_one_canonical_form(text: str) -> None:
    assert parse_unit_code(text) == "ชม 0017.3"
    assert UNIT_CODE_RE.fullmatch(parse_unit_code(text))


def test_unit_code_with_several_groups() -> None:
    assert parse_unit_code("มท0212.3.1") == "มท 0212.3.1"


BAD_UNIT_CODES = [
    pytest.param("", id="empty"),
    pytest.param("ชม", id="letters-only"),
    pytest.param("ชม 017", id="three-digits"),
    pytest.param("ชม 00170", id="five-digits"),
    pytest.param("ช 0017", id="one-letter"),
    pytest.param("ชมก 0017", id="three-letters"),
    pytest.param("CM 0017", id="latin-letters"),
    pytest.param("ชม 0017.", id="trailing-dot"),
    pytest.param("ชม 0017..3", id="double-dot"),
    pytest.param("ชม 0017/3", id="letter-number-not-code"),
    pytest.param("ชิม 0017", id="vowel-in-letters"),
]


@pytest.mark.parametrize("text", BAD_UNIT_CODES)
def test_parse_unit_code_rejects(text: str) -> None:
    with pytest.raises(BadLetterNumber):
        parse_unit_code(text)


# --- letter numbers: formats -----------------------------------------------------------

FORMATS = [
    pytest.param(LetterNumber(code="ชม 0017.3", number=1234), "ชม 0017.3/1234", id="outgoing"),
    pytest.param(
        LetterNumber(code="มท 0212.3", circular=True, number=56), "มท 0212.3/ว 56", id="circular"
    ),
    pytest.param(
        LetterNumber(instrument=Instrument.ORDER, issuer="จังหวัดเชียงใหม่", number=123, year=2569),
        "คำสั่งจังหวัดเชียงใหม่ ที่ 123/2569",
        id="order",
    ),
    pytest.param(
        LetterNumber(
            instrument=Instrument.ANNOUNCEMENT, issuer="กระทรวงมหาดไทย", number=7, year=2570
        ),
        "ประกาศกระทรวงมหาดไทย ที่ 7/2570",
        id="announcement",
    ),
    pytest.param(
        LetterNumber(
            instrument=Instrument.REGULATION,
            issuer="สำนักงานที่ดินจังหวัดเชียงใหม่",
            number=2,
            year=2569,
        ),
        "ระเบียบสำนักงานที่ดินจังหวัดเชียงใหม่ ที่ 2/2569",
        id="regulation-issuer-containing-thi",
    ),
    pytest.param(
        LetterNumber(instrument=Instrument.BYLAW, issuer="เทศบาลนครเชียงใหม่", number=1, year=2569),
        "ข้อบังคับเทศบาลนครเชียงใหม่ ที่ 1/2569",
        id="bylaw",
    ),
    pytest.param(
        LetterNumber(code="ชม 0017", number=3, provisional=True),
        "ชม 0017/(ชั่วคราว 3)",
        id="provisional",
    ),
    pytest.param(
        LetterNumber(code="มท 0200", circular=True, number=3, provisional=True),
        "มท 0200/ว (ชั่วคราว 3)",
        id="provisional-circular",
    ),
    pytest.param(
        LetterNumber(
            instrument=Instrument.ORDER,
            issuer="จังหวัดเชียงใหม่",
            number=3,
            year=2569,
            provisional=True,
        ),
        "คำสั่งจังหวัดเชียงใหม่ ที่ (ชั่วคราว 3)/2569",
        id="provisional-order",
    ),
]


@pytest.mark.parametrize(("number", "expected"), FORMATS)
def test_letter_number_canonical_format(number: LetterNumber, expected: str) -> None:
    assert number.format() == expected
    assert str(number) == expected


@pytest.mark.parametrize(("number", "expected"), FORMATS)
def test_letter_number_format_parses_back(number: LetterNumber, expected: str) -> None:
    assert parse_letter_number(expected) == number
    assert parse_letter_number(number.format(thai_digits=True)) == number


def test_thai_digit_format() -> None:
    circular = LetterNumber(code="ชม 0017.3", circular=True, number=456)
    assert circular.format(thai_digits=True) == "ชม ๐๐๑๗.๓/ว ๔๕๖"
    order = LetterNumber(instrument=Instrument.ORDER, issuer="จังหวัดเชียงใหม่", number=123, year=2569)
    assert order.format(thai_digits=True) == "คำสั่งจังหวัดเชียงใหม่ ที่ ๑๒๓/๒๕๖๙"


def test_constructor_canonicalises_typed_fields() -> None:
    typed = LetterNumber(code="ชม๐๐๑๗.๓", number=5)
    assert typed == LetterNumber(code="ชม 0017.3", number=5)
    order = LetterNumber(instrument="คำสั่ง", issuer=" จังหวัด\u200bเชียงใหม่", number=1, year=2569)  # type: ignore[arg-type]
    assert order.instrument is Instrument.ORDER
    assert order.issuer == "จังหวัดเชียงใหม่"


# --- letter numbers: what users type ---------------------------------------------------

CIRCULAR_456 = LetterNumber(code="ชม 0017.3", circular=True, number=456)
ORDER_123 = LetterNumber(instrument=Instrument.ORDER, issuer="จังหวัดเชียงใหม่", number=123, year=2569)

TYPED_VARIANTS = [
    pytest.param("ชม 0017.3/ว 456", CIRCULAR_456, id="canonical"),
    pytest.param("ชม0017.3/ว456", CIRCULAR_456, id="no-spaces"),
    pytest.param("ชม 0017.3/ว. 456", CIRCULAR_456, id="wo-with-dot"),
    pytest.param("ชม 0017.3/ว.456", CIRCULAR_456, id="wo-with-dot-no-space"),
    pytest.param("ชม 0017.3 / ว 456", CIRCULAR_456, id="spaces-around-slash"),
    pytest.param("ชม ๐๐๑๗.๓/ว ๔๕๖", CIRCULAR_456, id="thai-digits"),
    pytest.param("ชม\u00a00017.3/ว\u00a0456", CIRCULAR_456, id="nbsp"),
    pytest.param("ชม 0017.3/\u200bว 456\u200b", CIRCULAR_456, id="zero-width"),
    pytest.param("  ชม  0017.3/ว   456 ", CIRCULAR_456, id="extra-spaces"),
    pytest.param("ที่ ชม 0017.3/ว 456", CIRCULAR_456, id="letterhead-label"),
    pytest.param("ชม 0017.3/ว 0456", CIRCULAR_456, id="leading-zero"),
    pytest.param("คำสั่งจังหวัดเชียงใหม่ ที่ 123/2569", ORDER_123, id="order-canonical"),
    pytest.param("คำสั่งจังหวัดเชียงใหม่ที่ 123/2569", ORDER_123, id="order-thi-joined"),
    pytest.param("คำสั่ง จังหวัดเชียงใหม่ ที่ ๑๒๓/๒๕๖๙", ORDER_123, id="order-thai-digits"),
    pytest.param("คำสั่งจังหวัดเชียงใหม่ 123/2569", ORDER_123, id="order-without-thi"),
    pytest.param("คำสั่งจังหวัดเชียงใหม่ ที่ 123 / พ.ศ. 2569", ORDER_123, id="order-pho-so"),
    pytest.param("ค\u0e4d\u0e32สั่งจังหวัดเชียงใหม่ ที่ 123/2569", ORDER_123, id="order-split-am"),
]


def test_issuer_may_contain_spaces_and_abbreviations() -> None:
    number = parse_letter_number("ประกาศสำนักงาน  ก.พ. ที่ ๑/๒๕๖๙")
    assert number.issuer == "สำนักงาน ก.พ."
    assert number.format() == "ประกาศสำนักงาน ก.พ. ที่ 1/2569"
    assert parse_letter_number(number.format()) == number


@pytest.mark.parametrize(("text", "expected"), TYPED_VARIANTS)
def test_parse_letter_number_accepts_typed_variants(text: str, expected: LetterNumber) -> None:
    assert parse_letter_number(text) == expected


@pytest.mark.parametrize(("text", "expected"), TYPED_VARIANTS)
def test_all_typed_variants_share_one_search_key(text: str, expected: LetterNumber) -> None:
    assert search_key(text) == expected.search_key()


def test_search_key_examples() -> None:
    assert search_key("ชม 0017.3/ว. 456") == "ชม0017.3ว456"
    assert search_key("ชม 0017.3/1234") == "ชม0017.31234"
    assert search_key("คำสั่ง จังหวัดเชียงใหม่ ที่ ๑๒๓/๒๕๖๙") == "คำสั่งจังหวัดเชียงใหม่ที่1232569"
    assert search_key("มท 0200/ว (ชั่วคราว 3)") == "มท0200ว(ชั่วคราว3)"


@pytest.mark.parametrize(
    ("fragment", "full"),
    [
        pytest.param("0017.3/ว4", "ชม 0017.3/ว 456", id="code-tail"),
        pytest.param("0017.3/ว. 4", "ชม 0017.3/ว 456", id="wo-dot"),
        pytest.param("ว ๔๕", "ชม 0017.3/ว 456", id="thai-digits"),
        pytest.param("ชม 0017", "ชม 0017.3/ว 456", id="unit-code-prefix"),
        pytest.param("ชม0017.3", "ชม 0017.3/ว 456", id="unit-code-no-space"),
        pytest.param("0017.3ว456", "ชม 0017.3/ว 456", id="slash-omitted"),
        pytest.param("456", "ชม 0017.3/ว 456", id="number-only"),
        pytest.param("เชียงใหม่ ที่ 123", "คำสั่งจังหวัดเชียงใหม่ ที่ 123/2569", id="order-middle"),
        pytest.param("123/2569", "คำสั่งจังหวัดเชียงใหม่ ที่ 123/2569", id="order-number-year"),
        pytest.param("(ชั่วคราว 3", "ชม 0017/(ชั่วคราว 3)", id="provisional-open"),
    ],
)
def test_fragment_key_is_substring_of_full_key(fragment: str, full: str) -> None:
    assert search_key(fragment) in search_key(full)


BAD_LETTER_NUMBERS = [
    pytest.param("", id="empty"),
    pytest.param("   \u200b", id="only-invisible"),
    pytest.param("hello", id="latin"),
    pytest.param("ชม 0017.3", id="code-without-number"),
    pytest.param("ชม 0017.3/", id="slash-without-number"),
    pytest.param("ชม 0017.3/ว", id="wo-without-number"),
    pytest.param("ชม 0017.3/0", id="number-zero"),
    pytest.param("ชม 0017.3/ว 0", id="circular-zero"),
    pytest.param("ชม 0017.3/-5", id="negative"),
    pytest.param("ชม 0017.3/1000000", id="absurd-number"),
    pytest.param("ชม 0017.3/12a", id="letters-in-number"),
    pytest.param("ชม 0017.3/1/2", id="two-slashes"),
    pytest.param("ชม 017.3/12", id="bad-code"),
    pytest.param("/12", id="no-code"),
    pytest.param("ชม 0017/(ชั่วคราว 3", id="unbalanced-provisional"),
    pytest.param("ชม 0017/(ชั่วคราว 0)", id="provisional-zero"),
    pytest.param("คำสั่งจังหวัดเชียงใหม่ ที่ 123", id="order-without-year"),
    pytest.param("คำสั่งจังหวัดเชียงใหม่ ที่ 123/2026", id="order-christian-era-year"),
    pytest.param("คำสั่งจังหวัดเชียงใหม่ ที่ 123/69", id="order-two-digit-year"),
    pytest.param("คำสั่งจังหวัดเชียงใหม่ ที่ 123/25690", id="order-five-digit-year"),
    pytest.param("คำสั่งจังหวัดเชียงใหม่ ที่ 0/2569", id="order-zero"),
    pytest.param("คำสั่ง ที่ 1/2569", id="order-without-issuer"),
    pytest.param("คำสั่งจังหวัดเชียงใหม่ ที่ ว 1/2569", id="order-circular"),
    pytest.param("คำสั่งจังหวัดเชียงใหม่ ว 1/2569", id="order-circular-without-thi"),
    pytest.param("คำสั่งจังหวัดเชียงใหม่/ที่ 1/2569", id="order-slash-in-issuer"),
]


@pytest.mark.parametrize("text", BAD_LETTER_NUMBERS)
def test_parse_letter_number_rejects_junk(text: str) -> None:
    with pytest.raises(BadLetterNumber):
        parse_letter_number(text)


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"number": 1}, id="neither-code-nor-instrument"),
        pytest.param(
            {"number": 1, "code": "ชม 0017", "instrument": Instrument.ORDER}, id="both-shapes"
        ),
        pytest.param({"number": 1, "code": "ชม 0017", "year": 2569}, id="code-with-year"),
        pytest.param(
            {"number": 1, "instrument": Instrument.ORDER, "issuer": "จังหวัดเชียงใหม่"},
            id="instrument-without-year",
        ),
        pytest.param(
            {"number": 1, "instrument": Instrument.ORDER, "year": 2569}, id="without-issuer"
        ),
        pytest.param(
            {"number": 1, "instrument": "คำตอบ", "issuer": "จังหวัดเชียงใหม่", "year": 2569},
            id="unknown-instrument",
        ),
        pytest.param({"number": True, "code": "ชม 0017"}, id="bool-number"),
        pytest.param({"number": -1, "code": "ชม 0017"}, id="negative-number"),
    ],
)
def test_letter_number_constructor_rejects_bad_fields(fields: dict[str, object]) -> None:
    with pytest.raises(BadLetterNumber):
        LetterNumber(**fields)  # type: ignore[arg-type]


def test_christian_era_year_is_explained() -> None:
    with pytest.raises(BadLetterNumber, match="Buddhist era"):
        parse_letter_number("คำสั่งจังหวัดเชียงใหม่ ที่ 123/2026")


# --- properties ------------------------------------------------------------------------

THAI_CONSONANTS = [chr(c) for c in range(0x0E01, 0x0E2F)]


@st.composite
def code_numbers(draw: st.DrawFn) -> LetterNumber:
    letters = "".join(draw(st.lists(st.sampled_from(THAI_CONSONANTS), min_size=2, max_size=2)))
    digits = draw(st.from_regex(r"[0-9]{4}(\.[0-9]{1,3}){0,2}", fullmatch=True))
    return LetterNumber(
        code=f"{letters} {digits}",
        circular=draw(st.booleans()),
        number=draw(st.integers(min_value=1, max_value=999_999)),
        provisional=draw(st.booleans()),
    )


@given(code_numbers(), st.booleans())
def test_generated_code_numbers_round_trip(number: LetterNumber, thai_digits: bool) -> None:
    text = number.format(thai_digits=thai_digits)
    assert parse_letter_number(text) == number
    assert search_key(text) == number.search_key()


@given(code_numbers(), st.data())
def test_any_slice_of_a_number_is_found_by_its_key(
    number: LetterNumber, data: st.DataObject
) -> None:
    text = number.format(thai_digits=data.draw(st.booleans()))
    start = data.draw(st.integers(min_value=0, max_value=len(text)))
    end = data.draw(st.integers(min_value=start, max_value=len(text)))
    assert search_key(text[start:end]) in number.search_key()
