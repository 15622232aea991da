"""Errors raised by the hub, each with an HTTP status and the code of the API contract.

One base, :class:`HubError`, carries what :mod:`hub.responses` shows, in one place: a
stable English ``code`` and a one-line English ``reason`` as ``{"error", "reason"}`` JSON
for an office, and for an operator the Thai ``message_th`` of a :class:`ConsoleError` (else
the Thai words for the status). Protocol errors are translated at the boundary
(:func:`from_protocol`). A node's errors read the same way (:mod:`node.errors`).

This module does not log or render anything.
"""

from __future__ import annotations

from protocol import errors as perr


class HubError(perr.SarabanError):
    """Base of the hub's errors: an HTTP ``status``, a contract ``code`` and a reason.

    It derives from the protocol's base so that a caller (the CLI) catches one family.
    """

    status = 400
    code = "bad_request"
    message_th = ""
    """What an operator reads; empty: the console says what the status means."""

    def __init__(self, reason: str, *, code: str | None = None, status: int | None = None):
        super().__init__(reason)
        self.reason = reason
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers: dict[str, str] = {}
        self.extra: dict[str, object] = {}


class BadRequest(HubError):
    """The request is well-formed HTTP but its content is not what the contract says."""


class BadJSON(HubError):
    """The body is not valid JSON."""

    code = "bad_json"


class BadCursor(HubError):
    """A pull cursor the hub did not issue to this office: pull again from null."""

    code = "bad_cursor"


class Unauthorized(HubError):
    """The request signature is missing, wrong, stale or replayed."""

    status = 401
    code = "bad_request_signature"


class Forbidden(HubError):
    """Authenticated, but not allowed to do this."""

    status = 403
    code = "forbidden"


class NotFound(HubError):
    """No such thing."""

    status = 404
    code = "not_found"


class Conflict(HubError):
    """The request disagrees with the hub's state (e.g. a blob offset)."""

    status = 409
    code = "conflict"


class TooLarge(HubError):
    """Body or chunk above the limit."""

    status = 413
    code = "too_large"


class WrongContentType(HubError):
    """A body of the wrong media type."""

    status = 415
    code = "wrong_content_type"


class Unprocessable(HubError):
    """The bytes arrived but are not what they claim to be (e.g. a blob's hash)."""

    status = 422
    code = "unprocessable"


class StoreError(HubError):
    """The hub's own database failed; the caller is not at fault."""

    status = 500
    code = "internal"


class DatabaseUnavailable(StoreError):
    """The hub cannot reach its database server now (a restart, a failover to the
    standby): 503 with ``Retry-After``; the offices retry and lose nothing."""

    status = 503
    code = "database_unavailable"
    RETRY_AFTER_SECONDS = 5

    def __init__(self, message: str):
        super().__init__(message)
        self.headers["Retry-After"] = str(self.RETRY_AFTER_SECONDS)
        self.extra["retry_after"] = self.RETRY_AFTER_SECONDS


class AdminError(HubError):
    """An operator command cannot be carried out (unknown office, already revoked...)."""


class ConsoleError(HubError):
    """A refusal an operator reads: an English reason for logs and ``message_th``, which the
    console shows as a Thai page and the command line prints."""

    def __init__(
        self,
        reason: str,
        message_th: str,
        *,
        code: str = "bad_request",
        status: int = 400,
    ):
        super().__init__(reason, code=code, status=status)
        self.message_th = message_th


def from_protocol(error: perr.SarabanError) -> HubError:
    """The HTTP rendering of a protocol error raised while checking a request."""
    if isinstance(error, perr.StaleRequest):
        return Unauthorized(str(error), code="stale_request")
    if isinstance(error, perr.BadRequestSignature):
        return Unauthorized(str(error))
    if isinstance(error, perr.RemoteDataError):
        return BadRequest(str(error), code=error.code)
    return HubError(str(error), code="internal", status=500)
