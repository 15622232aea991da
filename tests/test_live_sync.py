"""The live path (ADR 0016): the hub's wake-up check answers 304 until something waits for
the office; a node's live sync fetches a letter within its check interval with nobody
syncing by hand; a letter sent while the link is down leaves as soon as the link is back,
not at the end of the back-off; forged or missing watch tokens are refused with JSON."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from support import CHIANG_MAI, CHIANG_RAI
from test_node_support import Federation, Node, federation

from hub.federation.ratelimit import RateLimits
from node.sync.live import LiveSync
from node.sync.state import watch_credentials
from protocol.api import API_PREFIX, WATCH_HEADER
from scripts.faults.federation import wait_for
from scripts.faults.proxy import FaultProxy

CHECK_SECONDS = 0.2


@pytest.fixture
def fed(tmp_path: Path) -> Iterator[Federation]:
    with federation(tmp_path) as f:
        yield f


def _watch(fed: Federation, token: str | None, etag: str | None = None) -> requests.Response:
    headers = {WATCH_HEADER: token} if token is not None else {}
    if etag:
        headers["If-None-Match"] = etag
    return requests.get(fed.url + API_PREFIX + "/watch", headers=headers, timeout=10)


def _credentials(node: Node) -> tuple[str, str]:
    with node.store() as store:
        token, etag = watch_credentials(store)
    assert token is not None and etag is not None, "a pull to the end leaves a token and ETag"
    return token, etag


def test_the_watch_answers_304_until_a_letter_waits_then_304_again_after_the_pull(
    fed: Federation,
) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    assert cm.sync().ok and cr.sync().ok
    token, etag = _credentials(cr)
    quiet = _watch(fed, token, etag)
    assert quiet.status_code == 304 and quiet.headers["ETag"] == etag

    cm.send(recipients=[CHIANG_RAI], subject="ขอเชิญประชุมด่วน")
    assert cm.sync().ok
    woken = _watch(fed, token, etag)
    assert woken.status_code == 200
    assert woken.json()["etag"] == woken.headers["ETag"] != etag

    assert cr.sync().ok
    assert [r["subject"] for r in cr.inbox()] == ["ขอเชิญประชุมด่วน"]
    token, etag = _credentials(cr)
    assert _watch(fed, token, etag).status_code == 304


@pytest.mark.parametrize(
    "token",
    [None, "", "garbage", "0LDQsdCy.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "%%%.%%%", "." * 40],
)
def test_a_missing_or_forged_watch_token_is_refused_with_a_reason(
    fed: Federation, token: str | None
) -> None:
    resp = _watch(fed, token)
    assert resp.status_code == 403
    assert resp.json()["error"] == "bad_watch_token"


def test_one_office_s_token_with_another_office_s_name_is_refused(fed: Federation) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    assert cm.sync().ok and cr.sync().ok
    cm_token, _ = _credentials(cm)
    cr_token, _ = _credentials(cr)
    forged = cr_token.split(".")[0] + "." + cm_token.split(".")[1]
    assert _watch(fed, forged).status_code == 403
    assert _watch(fed, cr_token).status_code == 200


def test_a_letter_arrives_with_nobody_syncing(fed: Federation) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    assert cm.sync().ok and cr.sync().ok
    lives = [LiveSync(n.ctx, watch_seconds=CHECK_SECONDS).start() for n in (cm, cr)]
    try:
        cm.send(recipients=[CHIANG_RAI], subject="แจ้งเวียนคำสั่งด่วนที่สุด", speed="ด่วนที่สุด")
        wait_for("the letter is in เชียงราย's inbox", lambda: bool(cr.inbox()))
        # ลงรับ at เชียงราย: the receipt goes back to เชียงใหม่ the same way.
        letter = cr.inbox()[0]
        cr.call("POST", f"/api/letters/{letter['id']}/register", {})
        wait_for(
            "เชียงใหม่ sees the letter registered",
            lambda: bool(cm.rows("SELECT 1 FROM recipients WHERE state = 'registered'")),
        )
    finally:
        for live in lives:
            live.stop()
    assert all(live.state()["link"] == "up" for live in lives)


def test_a_letter_sent_while_the_link_is_down_leaves_as_soon_as_it_is_back(
    fed: Federation,
) -> None:
    hub_port = int(fed.url.rsplit(":", 1)[1])
    proxy = FaultProxy("cm", hub_port)
    # A long back-off: only the wake-up check can make the letter leave soon.
    cm = fed.node(CHIANG_MAI, BACKOFF_BASE_SECONDS=3600.0, BACKOFF_CAP_SECONDS=3600.0)
    cr = fed.node(CHIANG_RAI)
    cm.set_hub_url(proxy.url)
    assert cm.sync().ok and cr.sync().ok
    live = LiveSync(cm.ctx, watch_seconds=CHECK_SECONDS).start()
    try:
        proxy.partition()
        cm.send(recipients=[CHIANG_RAI], subject="ขอข้อมูลด่วนมาก", speed="ด่วนมาก")
        wait_for("the link is seen down", lambda: live.state()["link"] == "down")
        pending = cm.rows("SELECT state FROM feed WHERE kind = 'letter'")
        assert [r["state"] for r in pending] == ["pending"]
        proxy.heal()
        wait_for(
            "the letter reaches the hub",
            lambda: (
                [r["state"] for r in cm.rows("SELECT state FROM feed WHERE kind = 'letter'")]
                == ["accepted"]
            ),
        )
        assert live.state()["link"] == "up"
    finally:
        live.stop()
        proxy.close()
    assert cr.sync().ok
    assert [r["subject"] for r in cr.inbox()] == ["ขอข้อมูลด่วนมาก"]


def test_mail_waiting_does_not_make_a_node_the_hub_told_to_wait_retry_early(
    fed: Federation,
) -> None:
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    assert cm.sync().ok and cr.sync().ok
    # One push per 100 s: เชียงใหม่'s next push is answered 429 with Retry-After.
    fed.hub_app.extensions["saraban_rate_limits"] = RateLimits({"push": 0.01}, 1)
    cm.send(recipients=[CHIANG_RAI], subject="หนังสือฉบับแรก")
    assert cm.sync().ok
    cr.send(recipients=[CHIANG_MAI], subject="หนังสือรอเชียงใหม่")
    assert cr.sync().ok  # mail now waits at the hub for เชียงใหม่
    cm.send(recipients=[CHIANG_RAI], subject="หนังสือฉบับที่สอง")
    refused = cm.sync()
    assert not refused.ok and refused.error_code == "hub_busy"
    live = LiveSync(cm.ctx, watch_seconds=CHECK_SECONDS).start()
    try:
        # The clock stands still: every check sees mail waiting and the back-off running.
        wait_for("five wake-up checks", lambda: live.checks >= 5 or live.rounds > 0)
        assert live.rounds == 0
        fed.clock.advance(130)  # Retry-After and the spread added to it
        live.kick()
        wait_for("the round after Retry-After", lambda: live.rounds > 0)
    finally:
        live.stop()
    assert [r["subject"] for r in cm.inbox()] == ["หนังสือรอเชียงใหม่"]
