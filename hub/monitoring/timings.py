"""How long letters take, measured from the moment the sender's clerk sent them.

Three spans per letter, over the letters sent in a period (Unix seconds ``[since, until)``
or a :class:`hub.monitoring.periods.Period` of Bangkok days):

* ``to_hub``: sent to accepted by the hub (the sender's wait for sync), once per letter,
  counted under the sender's office;
* ``to_inbox``: sent to stored at the recipient (its ``delivered`` receipt), per recipient;
* ``to_registered``: sent to ลงรับ at the recipient (its ``registered`` receipt), per
  recipient.

Each as a count, the median (p50) and the 95th percentile (p95), by the nearest-rank
method (the value at rank ``ceil(p * n / 100)`` of ``n`` ascending, always a span that
happened), computed exactly in SQL (:meth:`hub.store.HubStore.timing_percentiles`):
overall and per speed class (:func:`delivery_timings`, what other code and ``/metrics``
read), and per office, province and provincial group for the console
(:func:`timing_report`). Seconds inside; :func:`thai_span` says a span to people.

Does not: record the times (:mod:`hub.monitoring.timing_facts`), render or export anything
(:mod:`hub.console.stats`, :mod:`hub.monitoring.usage_export`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from hub.monitoring.periods import Period
from hub.monitoring.usage import CENTRAL_TH, SPEED_ROWS
from hub.store import HubStore

PERCENTS = (50, 95)
"""The percentiles reported: the median and the 95th."""

MEASURES = ("to_hub", "to_inbox", "to_registered")
"""The spans, each from the moment the letter was sent."""

MEASURE_TITLES = {
    "to_hub": "ถึงศูนย์กลาง",
    "to_inbox": "ถึงหน่วยงานผู้รับ",
    "to_registered": "ถึงลงรับ",
}
"""Each span in Thai, as the console's headers say it (after "ตั้งแต่ส่ง")."""

ALL_SPEEDS = "all"
"""The key of the overall row, every speed class together (also ``/metrics``' label)."""


@dataclass(frozen=True)
class Spread:
    """How many spans, and their median and 95th percentile in seconds (None: none)."""

    count: int = 0
    p50: float | None = None
    p95: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """``count``, ``p50_s`` and ``p95_s``, for JSON."""
        return {"count": self.count, "p50_s": self.p50, "p95_s": self.p95}


@dataclass(frozen=True)
class TimingRow:
    """One speed class, office, province or provincial group, and its three spans."""

    key: str
    label: str
    province: str
    group_no: int | None
    group_name: str
    to_hub: Spread
    to_inbox: Spread
    to_registered: Spread

    def spreads(self) -> tuple[Spread, Spread, Spread]:
        """The spans in the order of :data:`MEASURES`."""
        return (self.to_hub, self.to_inbox, self.to_registered)


@dataclass(frozen=True)
class TimingTotals:
    """What the spans were taken from.

    ``letters`` sent (``replaced`` of them by a clock the hub did not believe, so that the
    hub's time of receiving them stands for their sending); ``deliveries`` (letter and
    recipient pairs), of which ``delivered``, ``registered`` and ``returned``.
    """

    letters: int = 0
    replaced: int = 0
    deliveries: int = 0
    delivered: int = 0
    registered: int = 0
    returned: int = 0


@dataclass(frozen=True)
class TimingReport:
    """The spans of the letters sent in ``period``, for provincial ``group`` (None: all)."""

    period: Period
    group: int | None
    totals: TimingTotals
    overall: TimingRow
    speeds: list[TimingRow]
    offices: list[TimingRow]
    provinces: list[TimingRow]
    groups: list[TimingRow]


Spreads = dict[str, dict[str, Spread]]
"""key -> measure -> spread."""


def _spreads(store: HubStore, since: float, until: float, by: str, group: int | None) -> Spreads:
    out: Spreads = {}
    for r in store.timing_percentiles(since, until, by, group, PERCENTS):
        out.setdefault(str(r["key"]), {})[r["measure"]] = Spread(
            int(r["count"]), float(r["p_low"]), float(r["p_high"])
        )
    return out


def _row(
    key: str,
    label: str,
    found: Mapping[str, Spread],
    province: str = "",
    group_no: int | None = None,
    group_name: str = "",
) -> TimingRow:
    return TimingRow(
        key,
        label,
        province,
        group_no,
        group_name,
        *(found.get(m, Spread()) for m in MEASURES),
    )


def _speed_rows(found: Spreads) -> list[TimingRow]:
    labels = dict(SPEED_ROWS)
    speeds = [s for s, _ in SPEED_ROWS] + sorted(s for s in found if s not in labels)
    return [_row(s, labels.get(s) or s, found.get(s, {})) for s in speeds]


def _totals(store: HubStore, since: float, until: float, group: int | None) -> TimingTotals:
    r = store.timing_totals(since, until, group)
    return TimingTotals(**{f.name: int(r.get(f.name) or 0) for f in fields(TimingTotals)})


def delivery_timings(store: HubStore, since: float, until: float) -> dict[str, Any]:
    """The spans of the letters sent in ``[since, until)`` (Unix seconds), for other code.

    ``overall`` and ``by_speed`` (Thai class names, ``ปกติ`` for none) map each of
    :data:`MEASURES` to ``{count, p50_s, p95_s}``; ``send_to_inbox_p50_s``,
    ``send_to_inbox_p95_s``, ``send_to_registered_p50_s`` and ``send_to_registered_p95_s``
    repeat the overall figures (None when nothing was measured); ``letters``,
    ``sent_clock_replaced``, ``deliveries``, ``delivered``, ``registered`` and ``returned``
    count what they were taken from (:class:`TimingTotals`).
    """
    overall = _row(ALL_SPEEDS, "ทั้งหมด", _spreads(store, since, until, "all", None).get("", {}))
    speeds = _speed_rows(_spreads(store, since, until, "speed", None))
    totals = _totals(store, since, until, None)
    return {
        "since": since,
        "until": until,
        "percentiles": list(PERCENTS),
        "letters": totals.letters,
        "sent_clock_replaced": totals.replaced,
        "deliveries": totals.deliveries,
        "delivered": totals.delivered,
        "registered": totals.registered,
        "returned": totals.returned,
        "overall": _as_dict(overall),
        "by_speed": {row.label: _as_dict(row) for row in speeds},
        "send_to_inbox_p50_s": overall.to_inbox.p50,
        "send_to_inbox_p95_s": overall.to_inbox.p95,
        "send_to_registered_p50_s": overall.to_registered.p50,
        "send_to_registered_p95_s": overall.to_registered.p95,
    }


def _as_dict(row: TimingRow) -> dict[str, dict[str, Any]]:
    return {m: s.as_dict() for m, s in zip(MEASURES, row.spreads(), strict=True)}


def timing_report(store: HubStore, period: Period, group: int | None) -> TimingReport:
    """The spans of the letters sent in ``period`` for provincial ``group`` (None: all,
    0: ส่วนกลาง): overall, per speed class, office, province and group.

    The offices listed are the group's enrolled offices and any other with a span; a
    province or group is listed when one of its offices is.
    """
    since, until = period.bounds()

    def spreads(by: str) -> Spreads:
        return _spreads(store, since, until, by, group)

    by_office = spreads("office")
    offices = [
        o
        for o in store.offices()
        if (group is None or int(o["group_no"] or 0) == group)
        and (o["status"] == "enrolled" or o["id"] in by_office)
    ]
    office_rows = [
        _row(
            o["id"],
            o["name"],
            by_office.get(o["id"], {}),
            o["province"] or CENTRAL_TH,
            o["group_no"],
            o["group_name"] or CENTRAL_TH,
        )
        for o in offices
    ]
    by_province, by_group = spreads("province"), spreads("group")
    provinces: dict[tuple[int, str], TimingRow] = {}
    groups: dict[int, TimingRow] = {}
    for o, row in zip(offices, office_rows, strict=True):
        no, province = int(o["group_no"] or 0), o["province"] or ""
        key = f"{no}|{province}"  # as the store keys a province
        if (no, province) not in provinces:
            found = by_province.get(key, {})
            provinces[(no, province)] = _row(
                key, row.province, found, row.province, row.group_no, row.group_name
            )
        if no not in groups:
            found = by_group.get(str(no), {})
            groups[no] = _row(str(no), row.group_name, found, "", row.group_no, row.group_name)
    return TimingReport(
        period=period,
        group=group,
        totals=_totals(store, since, until, group),
        overall=_row(ALL_SPEEDS, "ทั้งหมด", spreads("all").get("", {})),
        speeds=_speed_rows(spreads("speed")),
        offices=office_rows,
        provinces=[provinces[k] for k in sorted(provinces)],
        groups=[groups[k] for k in sorted(groups)],
    )


_UNITS = (("วัน", 86_400), ("ชม.", 3_600), ("นาที", 60), ("วินาที", 1))


def thai_span(seconds: float | None) -> str:
    """A span in Thai words, its two largest units, to the nearest second: ``3 วินาที``,
    ``1 นาที 5 วินาที``, ``2 ชม. 10 นาที``, ``1 วัน 3 ชม.``, ``2 ชม.``; ``ไม่ถึง 1 วินาที``
    below half a second; ``-`` for None (nothing measured)."""
    if seconds is None:
        return "-"
    rest = round(abs(seconds))
    if rest == 0:
        return "ไม่ถึง 1 วินาที"
    amounts = []
    for name, size in _UNITS:
        amount, rest = divmod(rest, size)
        amounts.append((amount, name))
    first = next(i for i, (amount, _) in enumerate(amounts) if amount)
    shown = [a for a in amounts[first : first + 2] if a[0]]
    return " ".join(f"{amount} {name}" for amount, name in shown)
