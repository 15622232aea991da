"""The benchmark's queries, and how long each takes.

:func:`query_sets` makes the three families from the built database and the seed: Thai
subject words (``thai``), letter and receipt numbers typed the ways clerks type them
(``number``, each with the letter it must list on the first page), and queries with
filters (``filtered``). :func:`run_family` runs one family through the real search, as the
caller's viewer, and gives p50 / p95 / max in milliseconds, per family and per kind of
query, with the numbers whose letter was missing from the first page.

Does not: build the database (:mod:`scripts.bench_search.corpus`) or judge the figures
against the target (:mod:`scripts.bench_search.__main__`).
"""

from __future__ import annotations

import math
import random
import statistics
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from node.records.access import Viewer
from node.search.engine import search_letters
from node.search.query import SearchFilters, SearchQuery
from node.storage.store import Store
from protocol.thai import to_thai_digits
from scripts.bench_search.vocabulary import (
    COMMON_WORDS,
    DISTRICTS,
    FIRST_YEAR_BE,
    PROVINCES,
    SHORT_WORDS,
    TAMBONS,
    TOPICS,
    YEARS,
    Vocabulary,
)


def number_forms(number: str) -> list[str]:
    """How clerks type one letter number."""
    forms = [
        number,
        number.replace(" ", ""),
        number.replace("/ว ", "/ว. "),
        to_thai_digits(number),
        f"ที่ {number}",
    ]
    return [f for f in forms if f]


@dataclass(frozen=True)
class Probe:
    """One timed query, the letter it must list on page 1 (if any), and its kind."""

    query: SearchQuery
    expected: int | None = None
    kind: str = ""


def query_sets(store: Store, seed: int) -> dict[str, list[Probe]]:
    """The query families."""
    rng = random.Random(seed + 1)
    vocab = Vocabulary.make(seed)
    newest = int(store.scalar("SELECT MAX(id) FROM letters") or 0)
    places = [*PROVINCES, *DISTRICTS, *TAMBONS]
    thai: list[tuple[str, str]] = []
    thai += [("common word", rng.choice(COMMON_WORDS)) for _ in range(50)]
    thai += [("place name", rng.choice(places)) for _ in range(30)]
    thai += [("topic fragment", rng.choice(TOPICS)[3:18]) for _ in range(10)]
    thai += [("rare surname", rng.choice(vocab.persons).split()[1]) for _ in range(30)]
    thai += [("rare company", rng.choice(vocab.companies).split()[1]) for _ in range(10)]
    thai += [("two characters", rng.choice(SHORT_WORDS)) for _ in range(30)]
    thai += [
        ("several words", f"{rng.choice(COMMON_WORDS)} {rng.choice([*DISTRICTS, *PROVINCES])}")
        for _ in range(20)
    ]
    thai += [
        ("several words", f"งบประมาณ {FIRST_YEAR_BE + rng.randrange(YEARS)}") for _ in range(5)
    ]
    thai += [("several words", f"ขอ {rng.choice(TOPICS)[3:12]}") for _ in range(5)]
    absent = ["ไม่มีเรื่องนี้ในระบบ", "ทดสอบคำค้นที่ไม่พบ", "กระทรวงการต่างประเทศ"] * 3 + ["ฮิปโป"]
    thai += [("found nowhere", t) for t in absent]
    numbers: list[Probe] = []
    while len(numbers) < 200:
        letter_id = rng.randint(1, newest)
        row = store.one(
            "SELECT id, number, receipt_number, secrecy FROM letters WHERE id = ?", (letter_id,)
        )
        if row is None or row["secrecy"]:
            continue
        expected: int | None = row["id"]
        if row["number"] and "/" in row["number"] and len(numbers) % 10 == 9:
            # A fragment: the number without its province code; timed, not checked.
            kind, text, expected = "fragment", row["number"].split(" ", 1)[1], None
        elif row["number"] and rng.random() < 0.8:
            kind, text = "letter number", rng.choice(number_forms(row["number"]))
        elif row["receipt_number"]:
            kind = "receipt number"
            text = rng.choice((row["receipt_number"], to_thai_digits(row["receipt_number"])))
        else:
            continue
        numbers.append(Probe(SearchQuery(text=text), expected, kind))
    filtered: list[Probe] = []
    for _ in range(50):
        year = FIRST_YEAR_BE + rng.randrange(YEARS)
        start = date(year - 543, rng.randint(1, 12), 1)
        filters = rng.choice(
            (
                SearchFilters(speed="ด่วนที่สุด"),
                SearchFilters(letter_type="ภายใน", direction="in"),
                SearchFilters(series="ว"),
                SearchFilters(date_from=start, date_to=start + timedelta(days=30)),
                SearchFilters(status="done", date_from=start, date_to=start + timedelta(days=90)),
            )
        )
        text = rng.choice(["", *COMMON_WORDS])
        filtered.append(Probe(SearchQuery(text=text, filters=filters), None, "filters"))
    return {
        "thai": [Probe(SearchQuery(text=t), None, kind) for kind, t in thai[:200]],
        "number": numbers,
        "filtered": filtered,
    }


def figures(times: list[float]) -> dict[str, Any]:
    times = sorted(times)
    return {
        "queries": len(times),
        "p50_ms": round(statistics.median(times), 2),
        # Nearest rank: the 190th of 200 times.
        "p95_ms": round(times[max(0, math.ceil(len(times) * 0.95) - 1)], 2),
        "max_ms": round(times[-1], 2),
    }


def run_family(store: Store, viewer: Viewer, probes: list[Probe]) -> dict[str, Any]:
    """Time each query; list those whose expected letter is missing from page 1."""
    times: dict[str, list[float]] = {}
    missed: list[str] = []
    for probe in probes:
        started = time.perf_counter()
        page = search_letters(store, viewer, probe.query)
        times.setdefault(probe.kind, []).append((time.perf_counter() - started) * 1000)
        if probe.expected is not None and probe.expected not in {h.id for h in page.items}:
            missed.append(probe.query.text)
    result = figures([t for ts in times.values() for t in ts])
    result["missed"] = missed
    result["kinds"] = {kind: figures(ts) for kind, ts in times.items()}
    return result
