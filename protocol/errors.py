"""Errors raised by the protocol package.

Two families, as a caller must react differently to each:

* :class:`RemoteDataError`: the bytes another party sent are wrong (bad signature, not
  canonical, out of sequence, equivocation, stale directory...). Retrying the same bytes
  never helps; the data is quarantined or refused.
* :class:`TransportError`: the other party could not be reached or answered with an HTTP
  error. Retrying later may help.

This module does not log, format messages for users, or map errors to HTTP statuses; the
hub and node each render errors in one place.
"""

from __future__ import annotations


class SarabanError(Exception):
    """Base of every error raised by the protocol package."""

    code = "error"


class RemoteDataError(SarabanError):
    """Data received from another party is invalid; retrying the same bytes cannot help."""

    code = "bad_data"


class MalformedEnvelope(RemoteDataError):
    """The envelope is not the DSSE JSON shape we expect."""

    code = "malformed_envelope"


class NotCanonical(RemoteDataError):
    """The signed body is not RFC 8785 canonical JSON."""

    code = "not_canonical"


class BadJSON(RemoteDataError):
    """A request body is not strict JSON: not UTF-8, a syntax error, NaN or Infinity, or a
    lone surrogate."""

    code = "bad_json"


class BadSignature(RemoteDataError):
    """A signature does not verify against the key it names."""

    code = "bad_signature"


class UnknownKey(RemoteDataError):
    """A signature names a key id that the directory does not hold (or has revoked)."""

    code = "unknown_key"


class BadMessage(RemoteDataError):
    """The body parsed but its fields are missing, mistyped or inconsistent."""

    code = "bad_message"


class BoundsError(BadMessage):
    """A value is beyond a bound of :mod:`protocol.limits`: too long, too many, too large or
    nested too deep. ``field`` names the value and ``bound`` the limit it broke."""

    code = "out_of_bounds"

    def __init__(self, field: str, bound: str, message: str | None = None) -> None:
        super().__init__(message or f"field {field!r} must be {bound}")
        self.field = field
        self.bound = bound

    def __reduce__(self) -> tuple[type[BoundsError], tuple[str, str, str]]:
        # Crosses process boundaries (the hub's verifier pool) with its three arguments.
        return (type(self), (self.field, self.bound, str(self)))


class OutOfSequence(RemoteDataError):
    """An envelope's ``seq`` or ``prev`` does not continue its origin's feed."""

    code = "out_of_sequence"


class Equivocation(RemoteDataError):
    """A different body was signed under an ``(origin, seq)`` that already exists."""

    code = "equivocation"


class StaleDirectory(RemoteDataError):
    """A directory older than (or as old as, but different from) the one held: a rollback."""

    code = "stale_directory"


class BadAck(RemoteDataError):
    """The hub's answer to a push carries no ack, or one that is not the hub's, not for this
    office, or does not cover what the answer says it accepted."""

    code = "bad_ack"


class BadRequestSignature(RemoteDataError):
    """An HTTP request's signature headers are missing, malformed or do not verify."""

    code = "bad_request_signature"


class StaleRequest(RemoteDataError):
    """An HTTP request's timestamp is outside the allowed clock window."""

    code = "stale_request"


class BadLetterNumber(RemoteDataError):
    """A letter number could not be parsed or is out of range."""

    code = "bad_letter_number"


class SealRefused(RemoteDataError):
    """A sealed letter, its wrapped key or an encrypted attachment cannot be opened: not
    sealed to this office, sealed to a key it does not hold, or altered (a changed,
    reordered, dropped or added chunk, a wrapped key moved from another recipient or
    letter). ``reason`` is a short code, the message says it in words; neither ever holds a
    key or any plaintext."""

    code = "seal_refused"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    def __reduce__(self) -> tuple[type[SealRefused], tuple[str, str]]:
        return (type(self), (self.reason, str(self)))


class SealingUnavailable(SarabanError):
    """The installed ``cryptography`` cannot seal or open letters (HPKE X25519, HKDF-SHA256,
    AES-256-GCM): a fault of the installation, not of any data received."""

    code = "sealing_unavailable"


class TransportError(SarabanError):
    """The other party could not be reached or did not answer usefully; may succeed later."""

    code = "transport"


class Unreachable(TransportError):
    """The connection could not be made or was cut."""

    code = "unreachable"


class HTTPStatusError(TransportError):
    """The other party answered with an HTTP error status."""

    code = "http_status"

    def __init__(self, status: int, reason: str, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}: {reason}")
        self.status = status
        self.reason = reason
        self.retry_after = retry_after
