"""The portal benchmark's queries, and how long each takes at the hub.

:func:`portal_probes` makes, from the built hub database and the seed, for each of two
scopes (a provincial hall, ``ชม 0017``, and the ministry) three families: Thai words
(``thai``: common words, place names, rare names, two-character words, several words,
words found nowhere), letter numbers typed the ways clerks type them (``number``, each
with the letter it must list on the first page; one in ten a fragment, timed only) and
Buddhist-era date ranges with and without words (``dates``). :func:`run_probes` runs them
through the portal's real search (:func:`hub.portal.search.search`) and gives p50 / p95 /
max in milliseconds per family and per kind, and the numbers whose letter was missing.

Does not: build the database (:mod:`scripts.bench_search.portal_corpus`) or judge the
figures (:mod:`scripts.bench_search.__main__`).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from hub.portal.search import PortalQuery, Scope, search
from hub.store import HubStore
from protocol.thai import format_thai_date, to_thai_digits
from scripts.bench_search.portal_corpus import MINISTRY
from scripts.bench_search.timing import figures, number_forms
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

OFFICE = "ชม 0017"
SCOPES = {"office": Scope(OFFICE), "ministry": Scope(MINISTRY, ministry=True)}
"""The two scopes every family runs as."""


@dataclass(frozen=True)
class PortalProbe:
    """One timed query, its scope, the letter it must list on page 1 (if any), its kind."""

    scope: str
    params: dict[str, str]
    expected: str | None = None
    kind: str = ""


def _typed_range(rng: random.Random, words: bool) -> dict[str, str]:
    year = FIRST_YEAR_BE + rng.randrange(YEARS)
    start = date(year - 543, rng.randint(1, 12), 1)
    end = start + timedelta(days=rng.choice((7, 30, 90)))
    be = end.year + 543
    params = {
        # As clerks type them: an abbreviated month and a two-digit year, or slashes.
        "from": format_thai_date(start, abbreviated=True).replace(str(year), str(year)[2:]),
        "to": f"{end.day}/{end.month}/{be}",
    }
    if words:
        params["q"] = rng.choice(COMMON_WORDS)
    return params


def _visible_numbers(store: HubStore, scope: str) -> list[tuple[str, str]]:
    """``(env_id, number)`` of unsealed letters the scope lists."""
    if scope == "ministry":
        rows = store.conn.execute("SELECT env_id, number FROM portal_letters WHERE sealed = 0")
    else:
        rows = store.conn.execute(
            "SELECT env_id, number FROM portal_letters l WHERE sealed = 0 AND (origin = ? OR"
            " id IN (SELECT letter FROM portal_recipients WHERE office = ?))",
            (OFFICE, OFFICE),
        )
    return [(r[0], r[1]) for r in rows if r[1]]


def portal_probes(store: HubStore, seed: int) -> dict[str, list[PortalProbe]]:
    """The query families, each for both scopes."""
    rng = random.Random(seed + 7)
    vocab = Vocabulary.make(seed)
    places = [*PROVINCES, *DISTRICTS, *TAMBONS]
    families: dict[str, list[PortalProbe]] = {"thai": [], "number": [], "dates": []}
    for scope in SCOPES:
        words: list[tuple[str, str]] = []
        words += [("common word", rng.choice(COMMON_WORDS)) for _ in range(30)]
        words += [("place name", rng.choice(places)) for _ in range(20)]
        words += [("topic fragment", rng.choice(TOPICS)[3:18]) for _ in range(5)]
        words += [("rare surname", rng.choice(vocab.persons).split()[1]) for _ in range(15)]
        words += [("rare company", rng.choice(vocab.companies).split()[1]) for _ in range(5)]
        words += [("two characters", rng.choice(SHORT_WORDS)) for _ in range(15)]
        words += [
            ("several words", f"{rng.choice(COMMON_WORDS)} {rng.choice(DISTRICTS)}")
            for _ in range(10)
        ]
        words += [("found nowhere", t) for t in ("ไม่มีเรื่องนี้ในระบบ", "ทดสอบคำค้นที่ไม่พบ", "ฮิปโป")]
        families["thai"] += [PortalProbe(scope, {"q": t}, None, k) for k, t in words]
        letters = _visible_numbers(store, scope)
        for i in range(100):
            env_id, number = rng.choice(letters)
            if i % 10 == 9:
                fragment = number.split("/", 1)[1]
                families["number"].append(PortalProbe(scope, {"q": fragment}, None, "fragment"))
                continue
            text = rng.choice([*number_forms(number), to_thai_digits(number.replace(" ", ""))])
            families["number"].append(PortalProbe(scope, {"number": text}, env_id, "letter number"))
        for i in range(40):
            kind = "range and word" if i % 2 else "range"
            families["dates"].append(PortalProbe(scope, _typed_range(rng, bool(i % 2)), None, kind))
    return families


def run_probes(store: HubStore, probes: list[PortalProbe]) -> dict[str, Any]:
    """Time each query; list those whose expected letter is missing from page 1."""
    times: dict[str, list[float]] = {}
    missed: list[str] = []
    for probe in probes:
        query = PortalQuery.from_params(probe.params)
        started = time.perf_counter()
        page = search(store, SCOPES[probe.scope], query)
        elapsed = (time.perf_counter() - started) * 1000
        times.setdefault(f"{probe.scope}: {probe.kind}", []).append(elapsed)
        if probe.expected is not None and probe.expected not in {r.env_id for r in page.rows}:
            missed.append(f"{probe.scope}: {probe.params}")
    result = figures([t for ts in times.values() for t in ts])
    result["missed"] = missed
    result["kinds"] = {kind: figures(ts) for kind, ts in sorted(times.items())}
    result["all_ms"] = [t for ts in times.values() for t in ts]
    return result
