"""Errors raised by the office node, each with an HTTP status and a Thai message.

One base, :class:`NodeError`, carries what :mod:`node.responses` (and the CLI) shows, in one
place: a stable English ``code`` and a one-line English ``reason`` as ``{"error",
"reason", "message_th"}`` JSON for ``/api``, and the Thai ``message_th`` a clerk reads on a
page. Protocol errors are translated at the boundary (:func:`from_protocol`); a
``requests`` or ``sqlite3`` exception never gets this far. The hub's errors read the same
way (:mod:`hub.errors`).

This module does not log or render anything.
"""

from __future__ import annotations

from protocol.errors import HTTPStatusError, RemoteDataError, SarabanError, TransportError


class NodeError(Exception):
    """Base of every error the node reports to a clerk or operator."""

    status = 400
    code = "node_error"
    message_th = "ดำเนินการไม่สำเร็จ"

    def __init__(
        self,
        reason: str,
        *,
        code: str | None = None,
        message_th: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        if code is not None:
            self.code = code
        if message_th is not None:
            self.message_th = message_th
        if status is not None:
            self.status = status

    def to_json(self) -> dict[str, str]:
        """The error body of the local API."""
        return {"error": self.code, "reason": self.reason, "message_th": self.message_th}


class BadInput(NodeError):
    """The clerk's or caller's input is invalid; nothing was stored."""

    status = 400
    code = "bad_request"
    message_th = "ข้อมูลไม่ถูกต้อง"


class Unauthorised(NodeError):
    """The local API token is missing or wrong."""

    status = 401
    code = "unauthorised"
    message_th = "ไม่ได้รับอนุญาต: โทเคนไม่ถูกต้อง"


class NotFound(NodeError):
    """The letter, register or entry does not exist."""

    status = 404
    code = "not_found"
    message_th = "ไม่พบรายการที่ต้องการ"


class Conflict(NodeError):
    """The action does not fit the current state (already registered, withdrawn...)."""

    status = 409
    code = "conflict"
    message_th = "สถานะของหนังสือไม่อนุญาตให้ดำเนินการนี้"


class NotInitialised(NodeError):
    """The instance folder holds no enrolled node."""

    status = 409
    code = "not_initialised"
    message_th = "ยังไม่ได้ลงทะเบียนหน่วยงานกับศูนย์กลาง"


class BehindHighwater(NodeError):
    """The database is older than what this office already issued (restored backup)."""

    status = 409
    code = "behind_highwater"
    message_th = (
        "ฐานข้อมูลของหน่วยงานเก่ากว่าเลขที่ออกไปแล้ว (อาจกู้คืนจากสำเนาเก่า) "
        "ระงับการออกเลขและการส่งหนังสือจนกว่าจะซิงค์ข้อมูลจากศูนย์กลางให้ครบ"
    )


class HubRefused(NodeError):
    """The hub answered an administrative request (enrolment, restore) with an error."""

    status = 502
    code = "hub_refused"
    message_th = "ศูนย์กลางปฏิเสธคำขอ"


class HubUnreachable(NodeError):
    """The hub could not be reached for an action that needs it now."""

    status = 503
    code = "hub_unreachable"
    message_th = "ติดต่อศูนย์กลางไม่ได้ กรุณาลองใหม่ภายหลัง"


def from_protocol(error: SarabanError) -> NodeError:
    """Translate a protocol error raised while acting on the clerk's behalf."""
    if isinstance(error, HTTPStatusError):
        return HubRefused(error.reason, code=f"hub_{error.status}")
    if isinstance(error, TransportError):
        return HubUnreachable(str(error))
    if isinstance(error, RemoteDataError):
        return BadInput(str(error), code=error.code)
    return NodeError(str(error), code=error.code)
