"""What the hub and a node share when they refuse a request, apart from the web framework:
the bounds every request is held to before anything reads it, the one log line a refusal
leaves, and the bare Thai page shown when the error page itself cannot be rendered.

The bounds (:func:`check_bounds`): a body declared larger than its endpoint's limit
(:data:`SMALL_BODY_BYTES` for any endpoint that carries no push, chunk or file) is
refused as too large, naming the limit (:func:`shown_size`); a query parameter longer
than :data:`MAX_QUERY_VALUE` characters, as too long (:data:`QUERY_TOO_LONG`). An id in a
URL has at most :data:`ROW_ID_DIGITS` digits and is at most
:data:`~protocol.limits.MAX_SAFE_INT`; beyond, it matches no route.

A refusal's log line (:func:`log_refusal`) holds the method, the path, the status, the
code and the reason, each fit for one line: never a body, a query string or a header,
where tokens travel.

Does not: import Flask or werkzeug (:mod:`hub.responses` and :mod:`node.responses` read
the request, register the URL converter and raise their own errors), decide an
endpoint's limit, or word the refusal of a body, which differs between hub and node.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from html import escape

SMALL_BODY_BYTES = 256 * 1024
"""Largest body of a request that carries no push, blob chunk or file: enrollment, pull,
heartbeat, lease, every console form and every form or JSON call of a node without files
are far smaller."""
MAX_QUERY_VALUE = 1000
"""Characters of one query parameter: far above any the hub or a node reads (an id, a
page, a month, a search, a year), and far below the 4,300 digits past which Python will
not read a number."""
ROW_ID_DIGITS = r"\d{1,16}"
"""The digits of a row id in a URL: 16 hold any id up to ``MAX_SAFE_INT`` (SQLite holds
none past 2**63), so a longer one is a 404 like any id that does not exist."""
QUERY_TOO_LONG = f"a query parameter is longer than {MAX_QUERY_VALUE} characters"
"""The reason given for a query parameter over :data:`MAX_QUERY_VALUE`."""
QUERY_TOO_LONG_TH = f"ข้อมูลในที่อยู่ (URL) ยาวเกิน {MAX_QUERY_VALUE} ตัวอักษร"
"""What a person reads for a query parameter over :data:`MAX_QUERY_VALUE`."""
_MB = 1024 * 1024


def shown_size(limit: int) -> str:
    """A body limit as a person reads it: ``8 MB``, ``256 KB``."""
    return f"{limit / _MB:g} MB" if limit >= _MB else f"{limit // 1024} KB"


def check_bounds(
    content_length: int | None,
    limit: int,
    query: Iterable[tuple[str, str]],
    too_large: Callable[[int], Exception],
    long_query: Callable[[], Exception],
) -> None:
    """Refuse a request before it is read: ``too_large(limit)`` when its declared body is
    over ``limit`` bytes, else ``long_query()`` when a value of ``query`` (name and value
    pairs, a repeated name once a value) is over :data:`MAX_QUERY_VALUE` characters."""
    if content_length is not None and content_length > limit:
        raise too_large(limit)
    if any(len(value) > MAX_QUERY_VALUE for _, value in query):
        raise long_query()


def one_line(text: str, limit: int = 300) -> str:
    """``text`` fit for one log line: no control characters, no lone surrogates."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return "".join(c if c.isprintable() else "?" for c in text[:limit])


def log_refusal(
    logger: logging.Logger, method: str, path: str, status: int, code: str, reason: str
) -> None:
    """Log one line for a refused request to ``logger``, as its caller's own line."""
    logger.warning(
        "refused %s %s: %d %s: %s",
        method,
        one_line(path, 200),
        status,
        code,
        one_line(reason),
        stacklevel=2,  # the record names the app's module that refused, as a format may show
    )


def bare_error_page(message_th: str) -> str:
    """A Thai error page without the layout, for when the layout itself fails."""
    return (
        '<!doctype html><html lang="th"><head><meta charset="utf-8">'
        f"<title>เกิดข้อผิดพลาด</title></head><body><p>{escape(message_th)}</p></body></html>"
    )
