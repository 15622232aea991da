"""What the bad-input tests of the hub and of a node share: a bad request and the status it
must get, an endpoint with its own bad cases, the cases every endpoint gets (a body over
its limit, a method it does not take), and the check of a refusal: its status, a JSON
error or a Thai page without a traceback, and one refusal line in the log.

No test lives here; tests/test_bad_input_hub.py and tests/test_bad_input_node.py import it,
each with its own table of endpoints and its own way of sending a request as its callers
do (signed, with a token, or signed in).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask

from protocol.refusal import SMALL_BODY_BYTES

ANON = "anon"
"""A caller without a signature, a token or a session."""
JSON = "application/json"
NOT_READABLE_JSON = {
    "invalid_utf8": b'{"a": "\xff"}',
    "nested_100000_deep": b"[" * 100_000 + b"]" * 100_000,
    "nested_17_deep": b'{"a": ' + b"[" * 16 + b"]" * 16 + b"}",
    "not_an_object": b"[1, 2]",
}
"""Bodies no JSON endpoint of the hub or of a node takes, whatever fields it reads: bytes
that are not UTF-8, nested past :data:`~protocol.limits.MAX_DEPTH`, or not an object."""
FORM_TOKENS = ("csrf", "form_key", "idempotency")
"""Names of the tokens a form carries, which its refusal line must not show."""


@dataclass(frozen=True)
class Bad:
    """One bad request and the status it must get.

    ``body`` is the bytes sent, or for a signed-in person's POST the form fields (the
    sender adds the session's tokens); ``headers`` replace what they name of the headers
    the sender adds, so a bad header reaches the app beside good ones.
    """

    method: str
    path: str
    status: int
    body: bytes | Mapping[str, str] = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    who: str = ANON
    content_type: str | None = None


@dataclass(frozen=True)
class Endpoint:
    """An endpoint, one good-looking request to it (for the cases every endpoint gets:
    a body over its limit, a method it does not take) and its own bad cases."""

    method: str
    path: str
    who: str
    limit: int = SMALL_BODY_BYTES
    cases: dict[str, Bad] = field(default_factory=dict)


def unlisted_endpoints(app: Flask, endpoints: Mapping[str, Endpoint]) -> set[str]:
    """The endpoints of ``app``'s url_map without a row in ``endpoints``, and the rows of
    ``endpoints`` the app has no endpoint for: both empty when the table is complete."""
    served = {rule.endpoint for rule in app.url_map.iter_rules()}
    return served ^ set(endpoints)


def requests_of(method: str, status: int, who: str, **paths: str) -> dict[str, Bad]:
    """``who``'s requests of ``paths`` without a body, each answered ``status``."""
    return {name: Bad(method, path, status, who=who) for name, path in paths.items()}


def json_posts(
    method: str, path: str, status: int, who: str, bodies: Mapping[str, bytes]
) -> dict[str, Bad]:
    """``who``'s JSON ``bodies`` sent to ``path``, each answered ``status``."""
    return {
        name: Bad(method, path, status, body, who=who, content_type=JSON)
        for name, body in bodies.items()
    }


def forms_of(path: str, status: int, who: str, **posted: dict[str, str]) -> dict[str, Bad]:
    """``who``'s forms posted to ``path``, each answered ``status``."""
    return {name: Bad("POST", path, status, form, who=who) for name, form in posted.items()}


def no_csrf(path: str, who: str) -> dict[str, Bad]:
    """A form posted to ``path`` by ``who`` without its CSRF token."""
    return {"form_without_csrf_token": Bad("POST", path, 400, b"reason=x", who=who)}


def every_case(endpoints: Mapping[str, Endpoint]) -> dict[str, Bad]:
    """Each endpoint's own cases, and for every endpoint a body over its limit and a method
    it does not take, named ``<endpoint>:<case>``."""
    out: dict[str, Bad] = {}
    for endpoint, e in endpoints.items():
        out[f"{endpoint}:oversize_body"] = Bad(
            e.method, e.path, 413, b"x" * (e.limit + 1), who=e.who, content_type=JSON
        )
        out[f"{endpoint}:method_not_allowed"] = Bad("DELETE", e.path, 405, who=e.who)
        for name, bad in e.cases.items():
            out[f"{endpoint}:{name}"] = bad
    return out


def is_thai_page(answer: Any) -> bool:
    """The answer is a page in Thai, without a traceback."""
    page = answer.get_data(as_text=True)
    return any("\u0e00" <= c <= "\u0e7f" for c in page) and "Traceback" not in page


def refused(
    send: Callable[[Bad], Any], bad: Bad, caplog: pytest.LogCaptureFixture, api: bool
) -> Any:
    """The answer to ``bad`` sent by ``send``: the status ``bad`` must get, with a JSON error
    holding a code and a reason for the ``api``, else a Thai page (a HEAD, no body); and in
    the log, no traceback and one refusal line, which shows no token of a form."""
    caplog.clear()
    with caplog.at_level(logging.INFO):
        answer = send(bad)
    assert answer.status_code == bad.status, answer.get_data()[:300]
    if bad.method == "HEAD":
        assert answer.get_data() == b""
    elif api:
        error = answer.get_json()
        assert isinstance(error["error"], str) and error["error"]
        assert isinstance(error["reason"], str) and error["reason"]
    else:
        assert answer.mimetype == "text/html" and is_thai_page(answer)
    assert [r for r in caplog.records if r.exc_info] == []
    refusals = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused ")]
    assert len(refusals) == 1
    if isinstance(bad.body, Mapping):  # the form's tokens went with it: refused for its fields
        assert not any(token in refusals[0] for token in FORM_TOKENS)
    return answer
