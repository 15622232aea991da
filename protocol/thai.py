"""Thai text, digits, dates and times as official correspondence writes them.

Does:

* normalise Thai text before it is hashed, signed or indexed (:func:`normalize_thai`), so
  that the same words typed on different keyboards give the same bytes;
* fold runs of whitespace (:func:`fold_spaces`) and convert between Thai and Arabic digits;
* format and parse dates and times the way Thai letters show them: day, Thai month,
  Buddhist-era year (``23 พฤศจิกายน 2569``), 24-hour time (``14.35 น.``), in Bangkok time.

Does not: segment words, spell-check, transliterate, or change Latin text beyond Unicode
NFC. It never applies NFKC or NFKD, which split SARA AM (ำ) into NIKHAHIT + SARA AA. It
reads no clock: callers pass the moment to format.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time

from protocol.errors import BadMessage

__all__ = [
    "BANGKOK",
    "MAX_BE_YEAR",
    "MIN_BE_YEAR",
    "THAI_MONTHS",
    "THAI_MONTHS_ABBR",
    "as_bangkok",
    "bangkok_date",
    "be_year",
    "ce_year",
    "fold_spaces",
    "format_thai_date",
    "format_thai_datetime",
    "format_thai_time",
    "normalize_thai",
    "parse_thai_date",
    "to_arabic_digits",
    "to_thai_digits",
]

BANGKOK = zoneinfo.ZoneInfo("Asia/Bangkok")
"""Thailand's time zone (UTC+7 all year); official dates and times are Bangkok wall time."""

MIN_BE_YEAR = 2400
"""Earliest Buddhist-era year accepted in a date or letter number (CE 1857)."""

MAX_BE_YEAR = 2700
"""Latest Buddhist-era year accepted in a date or letter number (CE 2157)."""

_BE_OFFSET = 543

THAI_MONTHS: tuple[str, ...] = (
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
)
"""Full Thai month names, January first (index = month - 1)."""

THAI_MONTHS_ABBR: tuple[str, ...] = (
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
)
"""Abbreviated Thai month names, January first (index = month - 1)."""

_THAI_DIGITS = "๐๑๒๓๔๕๖๗๘๙"
_ARABIC_DIGITS = "0123456789"
_TO_ARABIC = str.maketrans(_THAI_DIGITS, _ARABIC_DIGITS)
_TO_THAI = str.maketrans(_ARABIC_DIGITS, _THAI_DIGITS)

# Invisible characters that editors and copy-paste from PDFs and web pages insert; they
# would make equal-looking text hash, sign and index differently.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))

_SARA_AA = "\u0e32"
_SARA_AM = "\u0e33"
_SARA_E = "\u0e40"
_SARA_AE = "\u0e41"
_NIKHAHIT = "\u0e4d"
_ABOVE_BELOW_VOWELS = frozenset("\u0e31\u0e34\u0e35\u0e36\u0e37\u0e38\u0e39\u0e3a\u0e47")
_TONE_MARKS = frozenset("\u0e48\u0e49\u0e4a\u0e4b")
_THAI_MARKS = frozenset(chr(c) for c in (0x0E31, *range(0x0E34, 0x0E3B), *range(0x0E47, 0x0E4F)))


def _is_thai_consonant(char: str) -> bool:
    return "\u0e01" <= char <= "\u0e2e"


@dataclass
class _Cluster:
    """A base character and the combining marks typed after it."""

    base: str
    marks: list[str] = field(default_factory=list)

    def thai_only(self) -> bool:
        return all(mark in _THAI_MARKS for mark in self.marks)


def _mark_rank(mark: str) -> tuple[int, int]:
    # Vowels sit closest to the consonant, tone marks and thanthakhat after them, NIKHAHIT
    # last so that it ends up next to a following SARA AA whatever order it was typed in.
    # Sorting by combining class inside each group keeps the result NFC-stable.
    if mark in _ABOVE_BELOW_VOWELS:
        group = 0
    elif mark == _NIKHAHIT:
        group = 2
    else:
        group = 1
    return group, unicodedata.combining(mark)


def _canonical_marks(marks: list[str]) -> list[str]:
    if not all(mark in _THAI_MARKS for mark in marks):
        # A foreign combining mark among Thai ones is not Thai writing we can reason
        # about; NFC has already put it in a stable order.
        return marks
    ordered = sorted(marks, key=_mark_rank)
    return [mark for i, mark in enumerate(ordered) if i == 0 or mark != ordered[i - 1]]


def _clusters(text: str) -> list[_Cluster]:
    clusters: list[_Cluster] = []
    for char in text:
        if unicodedata.category(char).startswith("M"):
            if not clusters:
                clusters.append(_Cluster(""))
            clusters[-1].marks.append(char)
        else:
            clusters.append(_Cluster(char))
    return clusters


def _canonical_pairs() -> frozenset[str]:
    """Every two Thai marks that may stand next to each other in normalised text: a run of
    marks is canonical exactly when each neighbouring pair is (the sort is stable and only
    neighbours are deduplicated)."""
    return frozenset(
        first + second
        for first in _THAI_MARKS
        for second in _THAI_MARKS
        if first != second and _mark_rank(first) <= _mark_rank(second)
    )


_CANONICAL_PAIRS = _canonical_pairs()
_MARK_CLASS = "[" + "".join(sorted(_THAI_MARKS)) + "]"
_MARK_RUN = re.compile(_MARK_CLASS + _MARK_CLASS + "+")
_INVISIBLE_CHARS = "".join(map(chr, _INVISIBLE))
# What always needs work in NFC text: an invisible character, NIKHAHIT before SARA AA, a
# Thai mark after SARA AM, SARA E twice. One leading class lets the scan skip ahead.
_ALWAYS_CHANGED = re.compile(
    f"[{_INVISIBLE_CHARS}{_NIKHAHIT}{_SARA_AM}{_SARA_E}]"
    f"(?:(?<=[{_INVISIBLE_CHARS}])|(?<={_NIKHAHIT}){_SARA_AA}"
    f"|(?<={_SARA_AM}){_MARK_CLASS}|(?<={_SARA_E}){_SARA_E})"
)


def _is_normalized(text: str) -> bool:
    """Whether :func:`normalize_thai` would return ``text`` unchanged, checked in one scan
    or two of the text instead of rebuilding it."""
    if not unicodedata.is_normalized("NFC", text) or _ALWAYS_CHANGED.search(text):
        return False
    return all(
        run[i : i + 2] in _CANONICAL_PAIRS
        for run in _MARK_RUN.findall(text)
        for i in range(len(run) - 1)
    )


def normalize_thai(text: str) -> str:
    """Return ``text`` in the one form used for hashing, signing and indexing.

    Applies Unicode NFC (which leaves Thai intact), drops zero-width characters and soft
    hyphens, composes NIKHAHIT + SARA AA (also with a tone mark between or before them)
    into SARA AM, moves a tone mark typed after SARA AM to before it, puts tone marks and
    thanthakhat after above and below vowels, collapses a mark repeated on one consonant,
    and folds SARA E + SARA E into SARA AE. Never NFKC/NFKD. Idempotent. Latin text and
    spacing are left as NFC leaves them; see :func:`fold_spaces` for whitespace.
    """
    if text.isascii() or _is_normalized(text):
        # Most text is in the one form already (it was normalised before it was stored
        # or signed): checking that costs a fraction of rebuilding it.
        return text
    return _normalize_in_full(text)


def _normalize_in_full(text: str) -> str:
    text = unicodedata.normalize("NFC", text.translate(_INVISIBLE))
    out: list[_Cluster] = []
    for cluster in _clusters(text):
        cluster.marks = _canonical_marks(cluster.marks)
        prev = out[-1] if out else None
        if prev is not None and prev.thai_only():
            if cluster.base == _SARA_AA and prev.marks and prev.marks[-1] == _NIKHAHIT:
                prev.marks.pop()
                cluster.base = _SARA_AM
            if cluster.base == _SARA_AM and _is_thai_consonant(prev.base) and cluster.thai_only():
                # SARA AM is a spacing letter, so a tone mark after it dangles; it belongs
                # to the consonant before (น้ำ is น + ้ + ำ).
                tones = [mark for mark in cluster.marks if mark in _TONE_MARKS]
                if tones:
                    prev.marks = _canonical_marks(prev.marks + tones)
                    cluster.marks = [mark for mark in cluster.marks if mark not in _TONE_MARKS]
            if cluster.base == _SARA_E and prev.base == _SARA_E and not prev.marks:
                out[-1] = _Cluster(_SARA_AE, cluster.marks)
                continue
        out.append(cluster)
    return "".join(cluster.base + "".join(cluster.marks) for cluster in out)


def fold_spaces(text: str) -> str:
    """Replace each run of Unicode whitespace (NBSP included) by one ASCII space, and strip."""
    return " ".join(text.split())


def to_arabic_digits(text: str) -> str:
    """Replace Thai digits ๐–๙ by 0–9; everything else is kept."""
    return text.translate(_TO_ARABIC)


def to_thai_digits(text: str) -> str:
    """Replace digits 0–9 by Thai digits ๐–๙; everything else is kept."""
    return text.translate(_TO_THAI)


def be_year(ce: int) -> int:
    """Buddhist-era year (พ.ศ.) of Christian-era year ``ce``."""
    return ce + _BE_OFFSET


def ce_year(be: int) -> int:
    """Christian-era year (ค.ศ.) of Buddhist-era year ``be``."""
    return be - _BE_OFFSET


def as_bangkok(moment: datetime) -> datetime:
    """Return ``moment`` as an aware Bangkok datetime.

    An aware datetime is converted; a naive one is taken to be Bangkok wall-clock time
    already, as the node's users and printed letters think in Bangkok time.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=BANGKOK)
    return moment.astimezone(BANGKOK)


def bangkok_date(when: date | datetime) -> date:
    """The Bangkok calendar date of ``when``; a plain ``date`` is returned unchanged."""
    if isinstance(when, datetime):
        return as_bangkok(when).date()
    return when


def _digits(text: str, thai_digits: bool) -> str:
    return to_thai_digits(text) if thai_digits else text


def format_thai_date(
    d: date | datetime, *, thai_digits: bool = False, abbreviated: bool = False
) -> str:
    """Format a date as ``23 พฤศจิกายน 2569`` (or ``23 พ.ย. 2569`` when abbreviated).

    A datetime is first taken to Bangkok time (see :func:`as_bangkok`).
    """
    day = bangkok_date(d)
    month = (THAI_MONTHS_ABBR if abbreviated else THAI_MONTHS)[day.month - 1]
    return _digits(f"{day.day} {month} {be_year(day.year)}", thai_digits)


def format_thai_time(t: time | datetime, *, thai_digits: bool = False) -> str:
    """Format a time as ``14.35 น.``: 24-hour, hour not padded, seconds dropped.

    A datetime is first taken to Bangkok time; a ``time`` is shown as it reads.
    """
    clock = as_bangkok(t).time() if isinstance(t, datetime) else t
    return _digits(f"{clock.hour}.{clock.minute:02d} น.", thai_digits)


def format_thai_datetime(dt: datetime, *, thai_digits: bool = False) -> str:
    """Format a moment as ``23 พฤศจิกายน 2569 เวลา 14.35 น.`` in Bangkok time."""
    local = as_bangkok(dt)
    date_text = format_thai_date(local, thai_digits=thai_digits)
    return f"{date_text} เวลา {format_thai_time(local, thai_digits=thai_digits)}"


def format_thai_duration(seconds: float) -> str:
    """A span of time in Thai words, the two largest units: ``2 วัน 3 ชม.``, ``1 ชม. 5 นาที``,
    ``15 นาที``, ``40 วินาที`` (the sign is dropped)."""
    total = int(abs(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} วัน {hours} ชม." if hours else f"{days} วัน"
    if hours:
        return f"{hours} ชม. {minutes} นาที" if minutes else f"{hours} ชม."
    if minutes:
        return f"{minutes} นาที"
    return f"{secs} วินาที"


def _month_forms() -> dict[str, int]:
    forms: dict[str, int] = {}
    for number, (full, abbr) in enumerate(zip(THAI_MONTHS, THAI_MONTHS_ABBR, strict=True), 1):
        forms[full] = number
        forms[abbr] = number
        # People often type the abbreviation without its dots (พย); these stay unambiguous.
        forms[abbr.replace(".", "")] = number
    return forms


_MONTH_FORMS = _month_forms()


def thai_month_number(name: str) -> int | None:
    """The month (1-12) a Thai month name is typed as: full (``ธันวาคม``), abbreviated
    (``ธ.ค.``) or abbreviated without dots (``ธค``); None for anything else."""
    return _MONTH_FORMS.get(name)


_MONTH_ALTERNATIVES = "|".join(
    re.escape(form) for form in sorted(_MONTH_FORMS, key=len, reverse=True)
)
_THAI_DATE_RE = re.compile(
    rf"(?:วันที่\s*)?(?P<day>[0-9]{{1,2}})\s*(?P<month>{_MONTH_ALTERNATIVES})\s*"
    r"(?:พ\.\s*ศ\.\s*)?(?P<year>[0-9]{4})"
)
_ISO_DATE_RE = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})")


def parse_thai_date(text: str) -> date:
    """Parse a date typed in a Thai letter or given as ISO 8601.

    Accepts ``23 พฤศจิกายน 2569``, ``23 พ.ย. 2569``, ``23 พย 2569``,
    ``23 พฤศจิกายน พ.ศ. 2569``, Thai digits (``๒๓ พฤศจิกายน ๒๕๖๙``) and ``2026-11-23``
    (ISO dates are Christian era; the others Buddhist era). Raises
    :class:`~protocol.errors.BadMessage` for anything else, including years outside
    :data:`MIN_BE_YEAR`–:data:`MAX_BE_YEAR`.
    """
    return _parse_date(text)


@functools.lru_cache(maxsize=1024)
def _parse_date(text: str) -> date:
    # Letters arriving together mostly carry a handful of dates.
    cleaned = fold_spaces(to_arabic_digits(normalize_thai(text)))
    if match := _ISO_DATE_RE.fullmatch(cleaned):
        year_be = be_year(int(match["year"]))
        month = int(match["month"])
    elif match := _THAI_DATE_RE.fullmatch(cleaned):
        year_be = int(match["year"])
        month = _MONTH_FORMS[match["month"]]
    else:
        raise BadMessage(
            f"not a date: {text!r}; expected e.g. '23 พฤศจิกายน 2569', '23 พ.ย. 2569' "
            "or '2026-11-23'"
        )
    if not MIN_BE_YEAR <= year_be <= MAX_BE_YEAR:
        hint = " (Thai dates use the Buddhist era, CE + 543)" if year_be < MIN_BE_YEAR else ""
        raise BadMessage(f"year out of range in date {text!r}{hint}")
    try:
        return date(ce_year(year_be), month, int(match["day"]))
    except ValueError as e:
        raise BadMessage(f"not a calendar date: {text!r} ({e})") from e
