"""Thai line breaking: where a line of Thai text may end, and lines filled to a width.

:func:`wrap_text` fills lines to a width measured by the caller, breaking after a space or
between two Thai words; :func:`break_points` lists those places. Thai words are found with
PyThaiNLP's dictionary word tokenizer (newmm: maximal matching over its dictionary of some
62,000 words, within Thai character clusters). A word longer than the line is broken between
the dictionary words it is made of (สำนักงาน|ปลัดกระทรวง, the fewest parts first), else
between character clusters: before a leading vowel if it can, never between a consonant
and its vowels or tone marks. Runs of Latin letters and digits are kept whole.

PyThaiNLP is imported on the first line that needs breaking, never when the node starts;
its dictionary is held as the set of words it ships (about 12 MB), not as the trie it
would build (about 63 MB more). It runs read-only and offline: the dictionary is in the
wheel, nothing is fetched or written. Words are cached per text.

Does not: measure text itself, know about fonts or PDFs, hyphenate, or know words missing
from PyThaiNLP's dictionary (a name it does not know is split where newmm splits it).
"""

from __future__ import annotations

import os
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from functools import cache, lru_cache, partial
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from pythainlp.util import Trie

_FOLLOWING_VOWELS = frozenset("\u0e30\u0e32\u0e33\u0e45\u0e2f\u0e46")  # ะ า ำ ๅ ฯ ๆ
_LEADING_VOWELS = frozenset("\u0e40\u0e41\u0e42\u0e43\u0e44")  # เ แ โ ใ ไ
_NEEDS_FINAL = frozenset("\u0e31\u0e47")  # ั and ็ are always followed by a final consonant
_THANTHAKHAT = "\u0e4c"
_TONE_MARKS = frozenset("\u0e48\u0e49\u0e4a\u0e4b")
_AT_SPACE, _AT_WORD, _AT_SYLLABLE, _AT_CLUSTER = 3, 2, 1, 0


# -- the dictionary ----------------------------------------------------------------------


class _Dictionary:
    """PyThaiNLP's word list, answering the one question newmm asks of its trie.

    newmm only calls ``prefixes``; a set of the words answers it with a few lookups per
    position, in a sixth of the memory of PyThaiNLP's trie.
    """

    def __init__(self, words: frozenset[str]) -> None:
        self.words = words
        self.longest = max(map(len, words), default=0)

    def __len__(self) -> int:
        return len(self.words)

    def prefixes(self, text: str, start: int = 0) -> list[str]:
        """The dictionary words that begin at ``text[start]``, shortest first."""
        end = min(len(text), start + self.longest)
        return [text[start:j] for j in range(start + 1, end + 1) if text[start:j] in self.words]


@cache
def _dictionary() -> _Dictionary:
    # Read-only: PyThaiNLP would otherwise create ~/pythainlp-data, which a service account
    # may not be allowed to; offline: nothing here needs a corpus it does not ship.
    os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")
    os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
    from pythainlp.corpus import thai_words

    return _Dictionary(thai_words())


@cache
def _tokenizer() -> Callable[[str], list[str]]:
    """newmm over the dictionary, keeping spaces so the words spell the text again."""
    words = cast("Trie", _dictionary())  # newmm asks a trie only for ``prefixes``
    from pythainlp.tokenize import word_tokenize  # after _dictionary(): read-only, offline

    return partial(word_tokenize, custom_dict=words, engine="newmm", keep_whitespace=True)


@lru_cache(maxsize=4096)
def _word_ends(text: str) -> frozenset[int]:
    """Where newmm ends a word in ``text`` (registers repeat names and dates: cached)."""
    ends, at = set(), 0
    for token in _tokenizer()(text):
        if not text.startswith(token, at):
            break  # a token that does not spell the text: no word boundaries after it
        at += len(token)
        ends.add(at)
    return frozenset(ends)


def _parts_at(word: str, i: int) -> list[int]:
    """Where the dictionary words that begin at ``word[i]`` end, between clusters, ``word``
    itself left out.
    """
    ends = (i + len(part) for part in _dictionary().prefixes(word, i))
    return [
        j
        for j in ends
        if (i, j) != (0, len(word)) and (j == len(word) or _between_clusters(word, j))
    ]


@lru_cache(maxsize=1024)
def _compound_cuts(word: str) -> tuple[int, ...]:
    """Where ``word`` splits into the fewest dictionary words other than itself (the
    longest first word on a tie); empty when it does not split so.
    """
    n = len(word)
    fewest: list[int | None] = [None] * n + [0]  # fewest[i]: words that spell word[i:]
    for i in range(n - 1, -1, -1):
        counts = [1 + rest for j in _parts_at(word, i) if (rest := fewest[j]) is not None]
        fewest[i] = min(counts, default=None)
    if fewest[0] is None:
        return ()
    cuts, i = [], 0
    while i < n:
        need = fewest[i]
        assert need is not None  # the walk only reaches positions that can be spelt
        i = max(j for j in _parts_at(word, i) if fewest[j] == need - 1)
        cuts.append(i)
    return tuple(cuts[:-1])


# -- where a line may break --------------------------------------------------------------


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


def _between_clusters(text: str, i: int) -> bool:
    """Whether ``text[i]`` starts a Thai character cluster that follows another one."""
    before, here = text[i - 1], text[i]
    return (
        _is_thai(before)
        and _is_thai(here)
        and not _is_mark(here)
        and here not in _FOLLOWING_VOWELS
        and before not in _LEADING_VOWELS
        and not set(_marks_before(text, i)) & _NEEDS_FINAL
        and not _tone_without_vowel(text, i)
        and _THANTHAKHAT not in _marks_after(text, i)
    )


def break_points(text: str) -> list[tuple[int, int]]:
    """Where a line may break (before ``text[i]``), each with how good a place it is.

    Best after a space; then between two Thai words (newmm's); then, for a word longer
    than the line, before a leading vowel (เ แ โ ใ ไ), which always starts a syllable;
    then between any two Thai character clusters. Never before a combining mark or a
    following vowel (ะ า ำ ๅ ฯ ๆ), never after a leading vowel, never between a consonant
    carrying ั or ็ (or only a tone mark) and the rest of its syllable, never before a
    letter silenced by ์. Runs of Latin letters and digits (letter numbers, dates) are kept
    whole.
    """
    words = _word_ends(text) if any(_is_thai(c) for c in text) else frozenset()
    points = []
    for i in range(1, len(text)):
        if text[i - 1].isspace() and not text[i].isspace():
            points.append((i, _AT_SPACE))
        elif _between_clusters(text, i):
            if i in words:
                points.append((i, _AT_WORD))
            else:
                points.append((i, _AT_SYLLABLE if text[i] in _LEADING_VOWELS else _AT_CLUSTER))
    return points


# -- filling lines -----------------------------------------------------------------------


def wrap_text(text: str, max_width: float, width_of: Callable[[str], float]) -> list[str]:
    """Break ``text`` into lines no wider than ``max_width`` as measured by ``width_of``.

    Ends a line after the last word that fits, at a space instead if that still fills at
    least half the line. A word longer than a line is broken as :func:`break_points` says;
    a run with no break point at all (a long number) is cut between characters, never
    before a combining mark. Text that fits is not segmented at all.
    """
    lines: list[str] = []
    for line in text.split("\n"):
        paragraph = line.strip()
        if width_of(paragraph) <= max_width:
            lines.append(paragraph)
            continue
        points = break_points(paragraph)
        start = 0
        while start < len(paragraph) and width_of(paragraph[start:]) > max_width:
            ahead = points[bisect_right(points, (start, _AT_SPACE)) :]
            cut = _fit(paragraph, start, ahead, max_width, width_of)
            lines.append(paragraph[start:cut].rstrip())
            start = cut
            while start < len(paragraph) and paragraph[start].isspace():
                start += 1
        lines.append(paragraph[start:])
    return lines


def _last_fitting(points: list[int], fits: Callable[[int], bool]) -> int | None:
    """The largest of ``points`` that ``fits`` (a line only grows with its end)."""
    lo, hi, best = 0, len(points) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if fits(points[mid]):
            best, lo = points[mid], mid + 1
        else:
            hi = mid - 1
    return best


def _fit(
    text: str,
    start: int,
    points: list[tuple[int, int]],
    max_width: float,
    width_of: Callable[[str], float],
) -> int:
    """Where to end the line of ``text`` that begins at ``start``; ``points`` lie after it."""

    def fits(end: int) -> bool:
        return width_of(text[start:end].rstrip()) <= max_width

    def fills_half(end: int) -> bool:
        return width_of(text[start:end]) >= max_width / 2

    words = [i for i, rank in points if rank >= _AT_WORD]
    cut = _last_fitting(words, fits)
    if cut is not None:
        spaces = [i for i, rank in points if rank == _AT_SPACE and i <= cut]
        if spaces and (spaces[-1] == cut or fills_half(spaces[-1])):
            return spaces[-1]
        return cut
    # The first word is longer than the line: break it between the words it is made of.
    word = text[start : words[0] if words else len(text)].rstrip()
    while cuts := _compound_cuts(word):
        inside = _last_fitting(list(cuts), lambda k: fits(start + k))
        if inside is not None:
            return start + inside
        word = word[: cuts[0]]
    # Not a compound: between clusters, before a leading vowel if that fills half the line.
    cut = _last_fitting([i for i, _ in points], fits)
    if cut is not None:
        syllables = [i for i, rank in points if rank == _AT_SYLLABLE and i <= cut]
        if syllables and (syllables[-1] == cut or fills_half(syllables[-1])):
            return syllables[-1]
        return cut
    # Nothing fits: cut between characters, keeping each consonant with its marks.
    hard = [i for i in range(start + 1, len(text)) if not _is_mark(text[i])]
    return _last_fitting(hard, fits) or (hard[0] if hard else len(text))
