"""A new signing key for a working office: ``saraban node rekey`` (ADR 0018).

:func:`rekey_node` makes key ``#n+1``, keeps it beside the current one as
``keys/sign.key.new`` (0600), and asks the hub to take it in a request signed by the
current key (``POST /rekey``). The hub retires the current key at the office's last seq and
answers with the directory that says so; the node checks that directory against its pinned
hub keys, finds the new key active in it, puts the new key in the place of the old one
(which is gone from the folder) and stores the directory. From then on everything is signed
by the new key: a running ``saraban node serve`` reads the replaced file at its next use
(:attr:`node.context.NodeContext.signer`), and envelopes queued under the old key are signed
again when they are pushed (:func:`node.storage.feed.outgoing_wire`).

An interrupted rekey is finished by running it again: a ``sign.key.new`` the hub took (it
answers a request signed by it) is adopted, one it never saw is thrown away and a new one
made. A node whose key the directory says is retired already (an old copy of the folder) is
refused: it needs a new enrollment token (``saraban node init --reenroll``).

Does not: re-enroll with a token (:func:`node.sync.enrolment.init_node`) or decide which
signatures verify (:mod:`protocol.directory`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from node.context import SIGN_KEY_FILE, NodeContext
from node.errors import Conflict, NodeError, from_protocol
from node.records.directory import (
    accept_and_store,
    key_status,
    next_key_number,
    pinned_keys,
    require_trusted,
)
from node.storage import audit
from node.storage.store import Store
from node.sync.hubclient import HubClient, HubHTTPError, hub_client
from protocol.api import BAD_KEY_NUMBER
from protocol.directory import TrustedDirectory, accept_directory
from protocol.envelope import Envelope
from protocol.errors import BadMessage, SarabanError, TransportError
from protocol.keys import Signer, fingerprint, load_signer, make_keyid, save_signer

PENDING_KEY_FILE = SIGN_KEY_FILE + ".new"
"""The new key while the hub has not (as far as the node knows) taken it."""

RETIRED_TH = (
    "กุญแจลงนามของเครื่องนี้ถูกเลิกใช้แล้ว (เครื่องนี้อาจเป็นสำเนาเก่า)"
    " เปลี่ยนกุญแจเองไม่ได้ ให้ขอรหัสลงทะเบียนใหม่จากศูนย์กลางแล้วรัน saraban node init --reenroll"
)


def rekey_node(instance: str | Path, test_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Replace the signing key of the node in ``instance`` by its next one, registered at
    the hub; return ``{"office", "keyid", "fingerprint", "retired": {"keyid",
    "last_seq"}, "directory_version", "resumed"}``."""
    ctx = NodeContext.load(instance, test_config)
    pending_path = ctx.instance / PENDING_KEY_FILE
    with ctx.open_store() as store:
        try:
            if pending_path.exists():
                finished = _finish_pending(ctx, store, pending_path)
                if finished is not None:
                    return finished
            return _rekey(ctx, store, pending_path)
        except SarabanError as e:
            raise from_protocol(e) from e


def _rekey(ctx: NodeContext, store: Store, pending_path: Path) -> dict[str, Any]:
    current = ctx.signer
    trusted = require_trusted(store)
    if key_status(trusted, current.keyid) == "retired":
        raise Conflict(
            f"{current.keyid} is retired: re-enroll with a new token",
            code="key_retired",
            message_th=RETIRED_TH,
        )
    new = Signer.generate(ctx.office, next_key_number(trusted, ctx.office))
    save_signer(new, pending_path)
    client = hub_client(ctx)
    try:
        answer, new = _register(client, new, pending_path)
    except HubHTTPError:
        pending_path.unlink(missing_ok=True)  # refused: the hub did not take it
        raise
    except TransportError as e:
        # The hub may have taken the key before the answer was lost: keep it to finish.
        raise NodeError(
            f"the hub did not answer ({e}); run `saraban node rekey` again to finish",
            code="rekey_unfinished",
            status=503,
            message_th="ติดต่อศูนย์กลางไม่ได้ระหว่างเปลี่ยนกุญแจ ให้รัน saraban node rekey อีกครั้ง"
            "เมื่อติดต่อได้ เพื่อทำให้เสร็จ",
        ) from e
    finally:
        client.close()
    try:
        retired = answer["retired"]
        env = Envelope.from_wire(answer["directory"])
        retired = {"keyid": str(retired["keyid"]), "last_seq": int(retired["last_seq"])}
    except (KeyError, TypeError, ValueError) as e:
        raise BadMessage(f"the hub's rekey answer is malformed: {e}") from e
    return _adopt(ctx, store, new, pending_path, env, current.keyid, retired, resumed=False)


def _register(client: HubClient, new: Signer, pending_path: Path) -> tuple[dict[str, Any], Signer]:
    """``POST /rekey`` for ``new``; once more with the number the hub names when it says
    the office's next key number is another (a directory this node has not fetched yet)."""
    try:
        return client.rekey({"sign_keyid": new.keyid, "sign_public": new.public_b64()}), new
    except HubHTTPError as e:
        number = e.body.get("next_key_no")
        if e.error != BAD_KEY_NUMBER or isinstance(number, bool) or not isinstance(number, int):
            raise
    new = Signer(make_keyid(new.office, number), new.private_key)
    save_signer(new, pending_path)
    return client.rekey({"sign_keyid": new.keyid, "sign_public": new.public_b64()}), new


def _finish_pending(ctx: NodeContext, store: Store, pending_path: Path) -> dict[str, Any] | None:
    """Adopt a new key a rekey left behind if the hub took it; None (and the file gone)
    when the hub never saw it."""
    pending = load_signer(pending_path)
    current = ctx.signer
    url = str(ctx.settings.get("HUB_URL") or "")
    client = HubClient(url, pending, ctx.now, timeout=float(ctx.settings["HTTP_TIMEOUT_SECONDS"]))
    try:
        answer = client.directory()
    except HubHTTPError as e:
        if e.status == 401 and e.error == "bad_request_signature":
            pending_path.unlink()
            return None
        raise
    finally:
        client.close()
    env = Envelope.from_wire(answer.get("directory"))
    return _adopt(ctx, store, pending, pending_path, env, current.keyid, None, resumed=True)


def _adopt(
    ctx: NodeContext,
    store: Store,
    new: Signer,
    pending_path: Path,
    env: Envelope,
    old_keyid: str,
    retired: dict[str, Any] | None,
    *,
    resumed: bool,
) -> dict[str, Any]:
    """Check the hub's directory names ``new`` active, make it the office's key, store the
    directory."""
    held = require_trusted(store)
    trusted = held if env.env_id == held.env_id else accept_directory(env, pinned_keys(store), held)
    if key_status(trusted, new.keyid) != "active":
        raise BadMessage(f"the hub's directory does not list {new.keyid} as active")
    if retired is None:
        retired = {"keyid": old_keyid, "last_seq": _last_seq(trusted, old_keyid)}
    os.replace(pending_path, ctx.instance / SIGN_KEY_FILE)
    now = ctx.now()
    with store.transaction():
        if env.env_id != held.env_id:
            trusted = accept_and_store(store, env, now, instance=ctx.instance)
        audit.record(
            store,
            now,
            "admin",
            "rekeyed",
            f"office:{ctx.office}",
            {"keyid": new.keyid, "retired": retired, "directory_version": trusted.version},
        )
    return {
        "office": ctx.office,
        "keyid": new.keyid,
        "fingerprint": fingerprint(new.public_b64()),
        "retired": retired,
        "directory_version": trusted.version,
        "resumed": resumed,
    }


def _last_seq(trusted: TrustedDirectory, keyid: str) -> int | None:
    office = trusted.office(keyid.rpartition("#")[0]) or {}
    for key in office.get("keys") or []:
        if isinstance(key, dict) and key.get("keyid") == keyid:
            last = key.get("last_seq")
            return last if isinstance(last, int) else None
    return None
