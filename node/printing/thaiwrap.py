"""Thai line breaking without a dictionary: where a line of Thai text may end.

:func:`break_points` finds the places a line may break and ranks them (after a space, before
a leading vowel, between Thai character clusters); :func:`wrap_text` fills lines to a width
measured by the caller. Pure functions of the text and a width function.

Does not: segment Thai words with a dictionary (an over-long Thai word is broken between
character clusters, never between a consonant and its vowels or tone marks), measure text
itself, or know about fonts or PDFs.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

_FOLLOWING_VOWELS = frozenset("\u0e30\u0e32\u0e33\u0e45\u0e2f\u0e46")  # ะ า ำ ๅ ฯ ๆ
_LEADING_VOWELS = frozenset("\u0e40\u0e41\u0e42\u0e43\u0e44")  # เ แ โ ใ ไ
_NEEDS_FINAL = frozenset("\u0e31\u0e47")  # ั and ็ are always followed by a final consonant
_THANTHAKHAT = "\u0e4c"
_TONE_MARKS = frozenset("\u0e48\u0e49\u0e4a\u0e4b")
_AT_SPACE, _AT_SYLLABLE, _AT_CLUSTER = 2, 1, 0


def _is_thai(char: str) -> bool:
    return "\u0e00" <= char <= "\u0e7f"


def _is_mark(char: str) -> bool:
    return unicodedata.category(char).startswith("M")


def _marks_after(text: str, i: int) -> str:
    """The combining marks that follow the letter at ``i``."""
    j = i + 1
    while j < len(text) and _is_mark(text[j]):
        j += 1
    return text[i + 1 : j]


def _marks_before(text: str, i: int) -> str:
    """The combining marks right before ``i``."""
    j = i
    while j > 0 and _is_mark(text[j - 1]):
        j -= 1
    return text[j:i]


def _tone_without_vowel(text: str, i: int) -> bool:
    """Whether ``text[i]`` follows a consonant bearing only a tone mark, with no leading
    vowel: the syllable is not finished (ส่|ง, ก่|อน, ด่|วน), unlike แม่|น้ำ or ไม่|ได้.
    """
    marks = _marks_before(text, i)
    base = i - len(marks) - 1
    if not marks or base < 0 or not set(marks) <= _TONE_MARKS:
        return False
    return not (base > 0 and text[base - 1] in _LEADING_VOWELS)


def break_points(text: str) -> list[tuple[int, int]]:
    """Where a line may break (before ``text[i]``), each with how good a place it is.

    Best after a space; then before a leading vowel (เ แ โ ใ ไ), which always starts a
    syllable; then between any two Thai character clusters. Never before a combining mark
    or a following vowel (ะ า ำ ๅ ฯ ๆ), never after a leading vowel, never between a
    consonant carrying ั or ็ (or only a tone mark) and the rest of its syllable, never
    before a letter silenced by ์.
    Runs of Latin letters and digits (letter numbers, dates) are kept whole.
    """
    points = []
    for i in range(1, len(text)):
        before, here = text[i - 1], text[i]
        if before.isspace() and not here.isspace():
            points.append((i, _AT_SPACE))
        elif (
            _is_thai(before)
            and _is_thai(here)
            and not _is_mark(here)
            and here not in _FOLLOWING_VOWELS
            and before not in _LEADING_VOWELS
            and not set(_marks_before(text, i)) & _NEEDS_FINAL
            and not _tone_without_vowel(text, i)
            and _THANTHAKHAT not in _marks_after(text, i)
        ):
            points.append((i, _AT_SYLLABLE if here in _LEADING_VOWELS else _AT_CLUSTER))
    return points


def wrap_text(text: str, max_width: float, width_of: Callable[[str], float]) -> list[str]:
    """Break ``text`` into lines no wider than ``max_width`` as measured by ``width_of``.

    Takes the best kind of break point (see :func:`break_points`) that still fills at
    least half the line, else the last one that fits; a run with no break point at all (a
    long number) is cut between characters, never before a combining mark.
    """
    lines: list[str] = []
    for paragraph in text.split("\n"):
        rest = paragraph.strip()
        while rest and width_of(rest) > max_width:
            cut = _fit(rest, max_width, width_of)
            lines.append(rest[:cut].rstrip())
            rest = rest[cut:].lstrip()
        lines.append(rest)
    return lines


def _last_fitting(
    text: str, points: list[int], max_width: float, width_of: Callable[[str], float]
) -> int | None:
    """The largest break point whose first part fits (widths grow with length)."""
    lo, hi, best = 0, len(points) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if width_of(text[: points[mid]].rstrip()) <= max_width:
            best, lo = points[mid], mid + 1
        else:
            hi = mid - 1
    return best


def _fit(text: str, max_width: float, width_of: Callable[[str], float]) -> int:
    """Where to end the first line of ``text``."""
    points = break_points(text)
    cut = _last_fitting(text, [i for i, _ in points], max_width, width_of)
    if cut is not None:
        for rank in (_AT_SPACE, _AT_SYLLABLE):
            better = [i for i, r in points if r == rank and i <= cut]
            if better and (better[-1] == cut or width_of(text[: better[-1]]) >= max_width / 2):
                return better[-1]
        return cut
    # Nothing fits: cut between characters, keeping each consonant with its marks.
    hard = [i for i in range(1, len(text)) if not _is_mark(text[i])]
    return _last_fitting(text, hard, max_width, width_of) or (hard[0] if hard else len(text))
