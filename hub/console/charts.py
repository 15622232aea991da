"""Bar charts drawn on the server as inline SVG, for the console's statistics page.

Does: grouped horizontal bars (one band per category, such as a province, with the value
written at the end of each bar) and grouped vertical bars (one column group per day or
month), each with a legend, gridlines and axis ticks. Every chart is ``role="img"`` with a
``<title>`` and a ``<desc>`` that lists the numbers, and every bar carries its own
``<title>`` (shown on hover). Colours come from the Okabe-Ito palette, which stays
distinguishable with the common colour-vision deficiencies. All text is escaped.

Does not: compute statistics, load fonts or scripts, or use inline CSS (the console's
Content-Security-Policy forbids ``style=``; only SVG presentation attributes are used).
The page keeps a table of the same numbers under each chart.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

BLUE = "#0072b2"
ORANGE = "#e69f00"
GREEN = "#009e73"
VERMILLION = "#d55e00"
PURPLE = "#6a3d9a"
INK = "#1b2330"
MUTED = "#5a6473"
GRID = "#d4d9e1"

FONT_SIZE = 13
LEGEND_HEIGHT = 28
MAX_DESC_ITEMS = 60


@dataclass(frozen=True)
class Series:
    """One measure drawn across the categories: its name, colour and values."""

    name: str
    color: str
    values: tuple[float, ...]


def count_text(value: float) -> str:
    """A count with thousands separators."""
    return f"{int(value):,}"


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """Rough width of ``text`` in pixels: Thai vowels and tone marks above or below a
    consonant take no room of their own."""
    spacing = sum(1 for c in text if unicodedata.category(c) not in ("Mn", "Me", "Cf"))
    return spacing * size * 0.6


def nice_scale(top: float, integer: bool = True, ticks: int = 4) -> tuple[float, float]:
    """``(axis maximum, tick step)``: a step of 1, 2 or 5 times a power of ten."""
    if top <= 0:
        return 1.0, 1.0
    raw = top / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if integer:
        step = max(1.0, float(math.ceil(step)))
    return math.ceil(top / step) * step, step


def _fmt(number: float) -> str:
    return f"{number:g}" if not float(number).is_integer() else f"{int(number):,}"


def _attrs(**values: object) -> str:
    # Python names to SVG attribute names: text_anchor -> text-anchor, viewBox stays.
    return " ".join(
        f'{name.replace("_", "-")}="{escape(str(value))}"' for name, value in values.items()
    )


def _rect(x: float, y: float, w: float, h: float, fill: str, title: str | None = None) -> str:
    box = _attrs(x=round(x, 1), y=round(y, 1), width=round(w, 1), height=round(h, 1), fill=fill)
    if title is None:
        return f"<rect {box}/>"
    return f"<rect {box}><title>{escape(title)}</title></rect>"


def _text(x: float, y: float, content: str, **attrs: object) -> str:
    return f"<text {_attrs(x=round(x, 1), y=round(y, 1), **attrs)}>{escape(content)}</text>"


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str) -> str:
    ends = _attrs(x1=round(x1, 1), y1=round(y1, 1), x2=round(x2, 1), y2=round(y2, 1))
    return f"<line {ends} {_attrs(stroke=stroke)}/>"


def _open_svg(chart_id: str, title: str, desc: str, width: float, height: float) -> list[str]:
    size = _attrs(
        width=round(width),
        height=round(height),
        viewBox=f"0 0 {round(width)} {round(height)}",
        font_size=FONT_SIZE,
        fill=INK,
    )
    labelled = _attrs(aria_labelledby=f"{chart_id}-title {chart_id}-desc")
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" {labelled} {size}>',
        f"<title {_attrs(id=f'{chart_id}-title')}>{escape(title)}</title>",
        f"<desc {_attrs(id=f'{chart_id}-desc')}>{escape(desc)}</desc>",
    ]


def _svg(parts: list[str]) -> Markup:
    # Every text and attribute value in ``parts`` went through escape().
    return Markup("\n".join([*parts, "</svg>"]))  # noqa: S704


def _description(
    categories: Sequence[str], series: Sequence[Series], value_text: Callable[[float], str]
) -> str:
    items = [
        f"{category}: " + ", ".join(f"{s.name} {value_text(s.values[i])}" for s in series)
        for i, category in enumerate(categories[:MAX_DESC_ITEMS])
    ]
    if len(categories) > MAX_DESC_ITEMS:
        items.append(f"และอีก {len(categories) - MAX_DESC_ITEMS} รายการ (ดูตาราง)")
    return "; ".join(items)


def _legend(series: Sequence[Series], x: float) -> list[str]:
    out = []
    for s in series:
        out.append(_rect(x, 8, 12, 12, s.color))
        out.append(_text(x + 17, 19, s.name))
        x += 17 + text_width(s.name) + 18
    return out


def _empty(chart_id: str, title: str) -> Markup:
    parts = _open_svg(chart_id, title, "ไม่มีข้อมูลในช่วงที่เลือก", 360, 40)
    parts.append(_text(8, 25, "ไม่มีข้อมูลในช่วงที่เลือก", fill=MUTED))
    return _svg(parts)


def horizontal_bars(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    value_text: Callable[[float], str] = count_text,
    tick_text: Callable[[float], str] = _fmt,
    integer: bool = True,
) -> Markup:
    """One band per category, one bar per series in it, the value written at its end."""
    if not categories:
        return _empty(chart_id, title)
    bar, gap, pad, plot_w, tail = 14, 2, 12, 480, 110
    label_w = min(260.0, max(60.0, max(text_width(c) for c in categories) + 16))
    band = len(series) * (bar + gap) + pad
    top_y = LEGEND_HEIGHT + 6
    axis_y = top_y + len(categories) * band
    width, height = label_w + plot_w + tail, axis_y + 26
    top, step = nice_scale(max((v for s in series for v in s.values), default=0), integer)
    parts = _open_svg(chart_id, title, _description(categories, series, value_text), width, height)
    parts += _legend(series, label_w)
    tick = 0.0
    while tick <= top + step / 2:
        x = label_w + tick / top * plot_w
        parts.append(_line(x, top_y, x, axis_y, GRID))
        parts.append(_text(x, axis_y + 17, tick_text(tick), text_anchor="middle", fill=MUTED))
        tick += step
    for i, category in enumerate(categories):
        y0 = top_y + i * band + pad / 2
        parts.append(
            _text(
                label_w - 8, y0 + len(series) * (bar + gap) / 2 + 4.5, category, text_anchor="end"
            )
        )
        for j, s in enumerate(series):
            value, y = s.values[i], y0 + j * (bar + gap)
            w = value / top * plot_w
            parts.append(
                _rect(label_w, y, w, bar, s.color, f"{category} {s.name}: {value_text(value)}")
            )
            parts.append(_text(label_w + w + 4, y + bar - 3, value_text(value), font_size=11))
    return _svg(parts)


def vertical_bars(
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    axis_labels: Sequence[str] | None = None,
    value_text: Callable[[float], str] = count_text,
) -> Markup:
    """One column group per category (a day or a month), one bar per series in it.

    ``categories`` name the groups in full (bar titles and the description);
    ``axis_labels`` are the short labels under the axis, thinned out when crowded.
    """
    if not categories:
        return _empty(chart_id, title)
    labels = list(axis_labels or categories)
    n = len(categories)
    bar = 8 if n > 20 else 14 if n > 8 else 22
    group_w = len(series) * bar + 8
    left, plot_h = 48, 220
    plot_w = max(n * group_w, 240)
    top_y = LEGEND_HEIGHT + 10
    axis_y = top_y + plot_h
    width, height = left + plot_w + 12, axis_y + 30
    top, step = nice_scale(max((v for s in series for v in s.values), default=0))
    parts = _open_svg(chart_id, title, _description(categories, series, value_text), width, height)
    parts += _legend(series, left)
    tick = 0.0
    while tick <= top + step / 2:
        y = axis_y - tick / top * plot_h
        parts.append(_line(left, y, left + plot_w, y, GRID))
        parts.append(_text(left - 6, y + 4.5, _fmt(tick), text_anchor="end", fill=MUTED))
        tick += step
    widest = max(text_width(label, 12) for label in labels) + 6
    every = max(1, math.ceil(widest / group_w))
    for i, category in enumerate(categories):
        x0 = left + i * group_w + 4
        for j, s in enumerate(series):
            value = s.values[i]
            h = value / top * plot_h
            title_text = f"{category} {s.name}: {value_text(value)}"
            parts.append(_rect(x0 + j * bar, axis_y - h, bar - 1, h, s.color, title_text))
        if i % every == 0:
            middle = x0 + (group_w - 8) / 2
            parts.append(_text(middle, axis_y + 18, labels[i], text_anchor="middle", font_size=12))
    parts.append(_line(left, axis_y, left + plot_w, axis_y, MUTED))
    return _svg(parts)
