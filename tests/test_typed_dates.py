"""Dates as clerks type them (protocol.typed_dates): every form clerks were refused in their
first week reads as the date they meant, by the one year rule (two digits are BE 25xx, four
digits from 2400 are BE, below that CE); what is not a date, or not in the calendar, is
refused with what was understood."""

from __future__ import annotations

from datetime import date

import pytest

from protocol.errors import BadMessage
from protocol.thai import parse_thai_date
from protocol.typed_dates import NoSuchDate, UnreadableDate, YearOutOfRange, read_typed_date

FIRST_OF_DECEMBER_2569 = date(2026, 12, 1)

AS_CLERKS_TYPE_IT = [
    pytest.param("1 ธ.ค. 69", id="abbreviated-month-two-digit-year"),
    pytest.param("1/12/69", id="slashes-two-digit-year"),
    pytest.param("1/12/2569", id="slashes-buddhist-era"),
    pytest.param("๑ ธ.ค. ๒๕๖๙", id="thai-digits"),
    pytest.param("๑/๑๒/๖๙", id="thai-digits-slashes"),
    pytest.param("1 ธันวาคม 2569", id="full-month"),
    pytest.param("1 ธค 69", id="abbreviation-without-dots"),
    pytest.param("1ธ.ค.69", id="no-spaces"),
    pytest.param("1 ธ. ค. 2569", id="space-inside-abbreviation"),
    pytest.param("วันที่ 1 ธันวาคม พ.ศ. 2569", id="wan-thi-and-pho-so"),
    pytest.param("01/12/2569", id="leading-zero"),
    pytest.param("1.12.69", id="dots"),
    pytest.param("1-12-2569", id="dashes"),
    pytest.param(" 1 / 12 / 69 ", id="spaces-around-slashes"),
    pytest.param("1/12/2026", id="christian-era-four-digits"),
    pytest.param("1 ธ.ค. ค.ศ. 2026", id="christian-era-marked"),
    pytest.param("2026-12-01", id="iso"),
    pytest.param("2569-12-01", id="iso-buddhist-era"),
]


@pytest.mark.parametrize("text", AS_CLERKS_TYPE_IT)
def test_dates_as_clerks_type_them_read_as_the_day_meant(text: str) -> None:
    assert read_typed_date(text) == FIRST_OF_DECEMBER_2569


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        pytest.param("1 ม.ค. 69", date(2026, 1, 1), id="ม.ค."),
        pytest.param("1 มี.ค. 69", date(2026, 3, 1), id="มี.ค.-not-ม.ค."),
        pytest.param("1 มีค 69", date(2026, 3, 1), id="มีค"),
        pytest.param("29/2/67", date(2024, 2, 29), id="leap-day-2567"),
        pytest.param("31/12/00", date(1957, 12, 31), id="two-digit-00-is-2500"),
        pytest.param("1/1/2400", date(1857, 1, 1), id="first-buddhist-era-year"),
        pytest.param("1/1/1857", date(1857, 1, 1), id="below-2400-is-christian-era"),
    ],
)
def test_each_month_and_year_rule(text: str, meant: date) -> None:
    assert read_typed_date(text) == meant


@pytest.mark.parametrize(
    ("text", "day", "month", "year_be"),
    [
        pytest.param("31/2/69", 31, 2, 2569, id="31-february"),
        pytest.param("29 ก.พ. 2569", 29, 2, 2569, id="29-february-common-year"),
        pytest.param("31/4/2569", 31, 4, 2569, id="31-april"),
        pytest.param("0/1/69", 0, 1, 2569, id="day-0"),
        pytest.param("1/13/69", 1, 13, 2569, id="month-13"),
    ],
)
def test_a_day_not_in_the_calendar_is_refused_with_what_was_read(
    text: str, day: int, month: int, year_be: int
) -> None:
    with pytest.raises(NoSuchDate) as refused:
        read_typed_date(text)
    assert (refused.value.day, refused.value.month, refused.value.year_be) == (day, month, year_be)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("พรุ่งนี้", id="a-word"),
        pytest.param("1/12", id="no-year"),
        pytest.param("1 ธ.ค.", id="month-without-year"),
        pytest.param("12/2569", id="no-day"),
        pytest.param("1/12/690", id="three-digit-year"),
        pytest.param("1/12-69", id="mixed-separators"),
        pytest.param("1 December 2569", id="english-month"),
        pytest.param("1 ธ.ค. 69 เวลา 10.00 น.", id="trailing-time"),
        pytest.param("1" * 5000, id="5000-digits"),
    ],
)
def test_what_is_no_date_is_refused(text: str) -> None:
    with pytest.raises(UnreadableDate):
        read_typed_date(text)


@pytest.mark.parametrize("text", ["1/12/1800", "1/12/3000", "1 ธ.ค. ค.ศ. 2300"])
def test_a_year_outside_the_accepted_years_is_refused(text: str) -> None:
    with pytest.raises(YearOutOfRange):
        read_typed_date(text)


def test_every_refusal_is_a_bad_message_and_the_strict_reader_of_letters_is_unchanged() -> None:
    for text in ("31/2/69", "พรุ่งนี้", "1/12/1800"):
        with pytest.raises(BadMessage):
            read_typed_date(text)
    with pytest.raises(BadMessage):
        parse_thai_date("1/12/69")  # letters and messages keep their one form
