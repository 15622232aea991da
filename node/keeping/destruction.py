"""Destroying letters (การทำลายหนังสือ): the list, the committee's approval, then the wipe.

:func:`propose_destruction` lists the expired letters (บัญชีหนังสือขอทำลาย),
:func:`approve_destruction` records the committee's review and the National Archives'
agreement, and only then :func:`destroy` wipes the letters' content and attachment bytes,
leaving a residual record. Every change is one transaction with its audit rows
(``letter:<id>`` for a letter, so the letter's history shows it; ``destruction_list:<id>``
for a list). Nothing here is sent to the hub (ADR 0007).

Does not: read or print lists (:mod:`node.keeping.destruction_lists`), or erase the signed
envelopes of a destroyed letter kept in the ``feed`` and ``mailbox`` tables and at the hub:
those are the federation's transport record, signed and hash-chained, and are left
untouched (ADR 0009).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from node.context import NodeContext
from node.errors import BadInput, Conflict
from node.keeping.destruction_lists import (
    LIST_STATES,
    due_letters,
    get_destruction_list,
    list_record,
)
from node.keeping.retention import (
    MAX_RETENTION_YEARS,
    bangkok_day,
    check_year,
    keep_until_th,
    parse_day,
    year_be_now,
)
from node.storage import audit
from node.storage.blobs import blob_path, partial_path
from node.storage.store import Store
from protocol.thai import fold_spaces, normalize_thai


def propose_destruction(
    ctx: NodeContext, store: Store, year_be: int, actor: str = "clerk"
) -> dict[str, Any]:
    """บัญชีหนังสือขอทำลาย: list every kept letter whose time ran out before ``year_be``.

    Takes letters kept after completion whose ``keep_until`` is earlier than ``year_be``
    (expired by the end of the year before), never ห้ามทำลาย ones, none that is destroyed
    or already on another open list. The list waits (``draft``) for the committee.
    """
    check_year(year_be)
    now = ctx.now()
    if year_be > year_be_now(ctx):
        raise BadInput(
            f"year {year_be} has not come yet",
            code="year_in_future",
            message_th="ยังไม่ถึงปีที่ระบุ จัดทำบัญชีหนังสือขอทำลายได้เมื่อสิ้นปีปฏิทินแล้ว",
        )
    with store.transaction():
        candidates = [r for r in due_letters(store, year_be) if r["on_list"] is None]
        if not candidates:
            raise Conflict(
                f"no kept letter expired before {year_be}",
                code="nothing_expired",
                message_th=f"ไม่มีหนังสือที่ครบกำหนดเก็บก่อนปี พ.ศ. {year_be}",
            )
        list_id = store.insert(
            "destruction_lists",
            {"year": year_be, "state": "draft", "created_at": now, "created_by": actor},
        )
        for position, r in enumerate(candidates, 1):
            store.insert(
                "destruction_items",
                {
                    "list": list_id,
                    "letter": r["id"],
                    "position": position,
                    "decision": "destroy",
                    "keep_until": r["keep_until"],
                },
            )
            audit.record(
                store,
                now,
                actor,
                "propose_destruction",
                f"letter:{r['id']}",
                {"list": list_id, "year": year_be, "keep_until": r["keep_until"]},
            )
        audit.record(
            store,
            now,
            actor,
            "propose_destruction",
            f"destruction_list:{list_id}",
            {"year": year_be, "letters": [r["id"] for r in candidates]},
        )
    return get_destruction_list(store, list_id)


def _names(chair: str, members: Iterable[str]) -> tuple[str, list[str]]:
    def clean(name: str) -> str:
        return fold_spaces(normalize_thai(name or ""))

    chair = clean(chair)
    names = [m for m in (clean(m) for m in members) if m]
    folded = [n.casefold() for n in [chair, *names]]
    if not chair or len(names) < 2 or len(set(folded)) != len(folded):
        raise BadInput(
            "the committee needs a chair and at least two other members, all distinct",
            code="committee_incomplete",
            message_th="คณะกรรมการต้องมีประธานและกรรมการอย่างน้อยสองคน โดยชื่อต้องไม่ซ้ำกัน",
        )
    return chair, names


def approve_destruction(
    ctx: NodeContext,
    store: Store,
    list_id: int,
    *,
    chair: str,
    members: Iterable[str],
    archives_ref: str,
    decided_at: str | None = None,
    excluded_letter_ids: Iterable[int] = (),
    extend_years: int | None = None,
    actor: str = "clerk",
) -> dict[str, Any]:
    """Record the committee's review and the National Archives' agreement of a list.

    The committee is a chair and at least two members (distinct names); ``archives_ref``
    is the reference of the National Archives' agreement; ``decided_at`` the date of the
    decision (Thai or ISO; default today). Letters in ``excluded_letter_ids`` are kept:
    their ``keep_until`` becomes the list's year plus ``extend_years`` (default
    ``RETENTION_EXTEND_YEARS``). The rest are destroyed by :func:`destroy`.
    """
    chair, names = _names(chair, members)
    archives_ref = fold_spaces(normalize_thai(archives_ref or ""))
    if not archives_ref:
        raise BadInput(
            "the National Archives' agreement reference is required",
            code="archives_ref_required",
            message_th="กรุณาระบุเลขที่หนังสือแจ้งความเห็นชอบของหอจดหมายเหตุแห่งชาติ",
        )
    now = ctx.now()
    today = bangkok_day(now)
    decided = (
        parse_day(decided_at, "the decision date", "วันที่คณะกรรมการพิจารณา") if decided_at else today
    )
    if decided > today:
        raise BadInput(
            f"decision date {decided} is in the future",
            code="decided_in_future",
            message_th="วันที่คณะกรรมการพิจารณาต้องไม่เกินวันนี้",
        )
    years = int(
        extend_years if extend_years is not None else ctx.settings["RETENTION_EXTEND_YEARS"]
    )
    if not 1 <= years <= MAX_RETENTION_YEARS:
        raise BadInput(
            f"extend_years must be 1-{MAX_RETENTION_YEARS}, not {years}",
            code="bad_extend_years",
            message_th="จำนวนปีที่ขยายเวลาเก็บไม่ถูกต้อง",
        )
    excluded = sorted(set(excluded_letter_ids))
    with store.transaction():
        dl = list_record(store, list_id)
        if dl["state"] != "draft":
            raise Conflict(
                f"destruction list {list_id} is already {dl['state']}",
                code="list_not_draft",
                message_th=f"บัญชีหนังสือขอทำลายนี้{LIST_STATES[dl['state']]}",
            )
        if decided < bangkok_day(float(dl["created_at"])):
            raise BadInput(
                f"decision date {decided} is before the list was made",
                code="decided_before_list",
                message_th="วันที่คณะกรรมการพิจารณาต้องไม่ก่อนวันที่จัดทำบัญชีหนังสือขอทำลาย",
            )
        items = {
            r["letter"]: r
            for r in store.query("SELECT * FROM destruction_items WHERE list = ?", (list_id,))
        }
        strangers = [i for i in excluded if i not in items]
        if strangers:
            raise BadInput(
                f"letters {strangers} are not on destruction list {list_id}",
                code="not_on_list",
                message_th="หนังสือที่ขอยกเว้นไม่อยู่ในบัญชีหนังสือขอทำลายนี้",
            )
        new_keep_until = int(dl["year"]) + years
        for letter_id in excluded:
            store.execute(
                "UPDATE destruction_items SET decision = 'extend', new_keep_until = ? "
                "WHERE list = ? AND letter = ?",
                (new_keep_until, list_id, letter_id),
            )
            store.execute(
                "UPDATE letters SET keep_until = ?, updated_at = ? WHERE id = ?",
                (new_keep_until, now, letter_id),
            )
            audit.record(
                store,
                now,
                actor,
                "extend_retention",
                f"letter:{letter_id}",
                {
                    "list": list_id,
                    "from": items[letter_id]["keep_until"],
                    "to": new_keep_until,
                    "keep_until_th": keep_until_th("", new_keep_until),
                    "chair": chair,
                },
            )
        store.execute(
            "UPDATE destruction_lists SET state = 'approved', chair = ?, members = ?, "
            "archives_ref = ?, decided_day = ?, extend_years = ?, approved_at = ?, "
            "approved_by = ? WHERE id = ?",
            (
                chair,
                json.dumps(names, ensure_ascii=False),
                archives_ref,
                decided.isoformat(),
                years,
                now,
                actor,
                list_id,
            ),
        )
        audit.record(
            store,
            now,
            actor,
            "approve_destruction",
            f"destruction_list:{list_id}",
            {
                "chair": chair,
                "members": names,
                "archives_ref": archives_ref,
                "decided": decided.isoformat(),
                "extended": excluded,
                "keep_until": new_keep_until if excluded else None,
            },
        )
    return get_destruction_list(store, list_id)


def _shas(attachments_json: str | None) -> list[str]:
    try:
        items = json.loads(attachments_json or "[]")
    except ValueError:
        return []
    return [str(a["sha256"]) for a in items if isinstance(a, dict) and a.get("sha256")]


def _still_used(store: Store, sha256: str) -> bool:
    return bool(
        store.scalar(
            "SELECT 1 FROM letters, json_each(letters.attachments) AS a "
            "WHERE letters.destroyed_at IS NULL AND json_extract(a.value, '$.sha256') = ? "
            "LIMIT 1",
            (sha256,),
        )
    )


def destroy(ctx: NodeContext, store: Store, list_id: int, actor: str = "clerk") -> dict[str, Any]:
    """ทำลาย every letter an approved list still holds; refuse a list not yet approved.

    Each letter keeps a residual record (its numbers, subject, date, the list and the
    National Archives' reference, when) while its body, minute, instruction and
    attachments are wiped; attachment bytes no other surviving letter lists are deleted.
    """
    now = ctx.now()
    with store.transaction():
        dl = list_record(store, list_id)
        if dl["state"] == "destroyed":
            raise Conflict(
                f"destruction list {list_id} was already carried out",
                code="list_destroyed",
                message_th="บัญชีหนังสือขอทำลายนี้ดำเนินการทำลายแล้ว",
            )
        if dl["state"] != "approved":
            raise Conflict(
                f"destruction list {list_id} is not approved by the committee and the "
                "National Archives",
                code="not_approved",
                message_th="บัญชีหนังสือขอทำลายนี้ยังไม่ได้รับความเห็นชอบจากคณะกรรมการ"
                "และหอจดหมายเหตุแห่งชาติ จึงยังทำลายไม่ได้",
            )
        doomed = store.query(
            "SELECT letters.* FROM destruction_items i JOIN letters ON letters.id = i.letter "
            "WHERE i.list = ? AND i.decision = 'destroy' AND letters.destroyed_at IS NULL "
            "ORDER BY i.position",
            (list_id,),
        )
        lent = [
            r["number"] or r["receipt_number"] or str(r["id"])
            for r in doomed
            if store.scalar(
                "SELECT 1 FROM loans WHERE letter = ? AND returned_at IS NULL", (r["id"],)
            )
        ]
        if lent:
            raise Conflict(
                f"letters on loan cannot be destroyed: {', '.join(lent)}",
                code="on_loan",
                message_th=f"หนังสือต่อไปนี้ยังถูกยืมอยู่ ต้องส่งคืนก่อนทำลาย: {', '.join(lent)}",
            )
        released: set[str] = set()
        for r in doomed:
            old = json.loads(r["attachments"] or "[]")
            released.update(_shas(r["attachments"]))
            store.execute(
                "UPDATE letters SET body = NULL, minute = NULL, instruction = NULL, "
                "attachments = '[]', stage = 'destroyed', destroyed_at = ?, "
                "destruction_list = ?, destruction_ref = ?, updated_at = ? WHERE id = ?",
                (now, list_id, dl["archives_ref"], now, r["id"]),
            )
            audit.record(
                store,
                now,
                actor,
                "destroy_letter",
                f"letter:{r['id']}",
                {
                    "list": list_id,
                    "archives_ref": dl["archives_ref"],
                    "chair": dl["chair"],
                    "decided": dl["decided_day"],
                    # What was destroyed, by name and hash, stays on record.
                    "attachments": [
                        {"name": a.get("name"), "sha256": a.get("sha256"), "size": a.get("size")}
                        for a in old
                        if isinstance(a, dict)
                    ],
                },
            )
        # Bytes another surviving letter lists (the same scan filed twice) stay.
        orphaned = sorted(sha for sha in released if not _still_used(store, sha))
        for sha in orphaned:
            # A later letter with the same bytes records its attachment afresh.
            store.execute("DELETE FROM attachments WHERE sha256 = ?", (sha,))
        store.execute(
            "UPDATE destruction_lists SET state = 'destroyed', destroyed_at = ?, "
            "destroyed_by = ? WHERE id = ?",
            (now, actor, list_id),
        )
        audit.record(
            store,
            now,
            actor,
            "destroy",
            f"destruction_list:{list_id}",
            {"letters": [r["id"] for r in doomed], "blobs_removed": len(orphaned)},
        )
    # Files go only after the commit (the caller's, when this is part of a larger
    # transaction): a failed commit must leave every byte in place.
    store.after_commit(lambda: _remove_blobs(ctx, store, orphaned))
    result = get_destruction_list(store, list_id)
    result["destroyed"] = [r["id"] for r in doomed]
    result["blobs_removed"] = len(orphaned)
    return result


def _remove_blobs(ctx: NodeContext, store: Store, shas: Iterable[str]) -> int:
    shas = list(shas)
    if not shas:
        return 0
    removed = 0
    # Under the write lock, so no letter can come to list the same bytes meanwhile.
    with store.transaction():
        for sha in shas:
            if _still_used(store, sha):
                continue
            for path in (blob_path(ctx.blob_dir(), sha), partial_path(ctx.blob_dir(), sha)):
                if path.exists():
                    path.unlink()
                    removed += 1
    return removed
