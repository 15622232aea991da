"""Feed rules, request signing and directory trust: the attacks they exist to stop."""

from __future__ import annotations

import random

import pytest

from protocol.auth import (
    H_NONCE,
    H_SIGNATURE,
    H_TIMESTAMP,
    parse_request_headers,
    sign_request,
    verify_request,
)
from protocol.directory import accept_directory
from protocol.envelope import sign_envelope
from protocol.errors import BadMessage, BadRequestSignature, StaleDirectory, StaleRequest
from protocol.feed import FeedHead, Verdict, decide_append
from protocol.hub_messages import Directory
from protocol.keys import Signer
from protocol.sync import backoff_delay

A = "a" * 64
B = "b" * 64
C = "c" * 64


def test_first_envelope_of_a_feed_is_accepted() -> None:
    assert decide_append(None, 1, None, A, None).verdict is Verdict.ACCEPT


def test_next_envelope_continuing_the_chain_is_accepted() -> None:
    assert decide_append(FeedHead(1, A), 2, A, B, None).verdict is Verdict.ACCEPT


def test_same_bytes_again_is_a_harmless_duplicate() -> None:
    assert decide_append(FeedHead(2, B), 1, None, A, A).verdict is Verdict.DUPLICATE


def test_different_body_under_existing_seq_is_equivocation() -> None:
    d = decide_append(FeedHead(2, B), 2, A, C, B)
    assert d.verdict is Verdict.EQUIVOCATION and d.reason == "equivocation"


@pytest.mark.parametrize(
    ("head", "seq", "prev", "reason"),
    [
        pytest.param(FeedHead(1, A), 3, B, "out_of_sequence", id="gap"),
        pytest.param(None, 2, A, "out_of_sequence", id="first-is-not-1"),
        pytest.param(FeedHead(1, A), 2, C, "broken_chain", id="prev-names-other"),
        pytest.param(FeedHead(1, A), 2, None, "broken_chain", id="prev-missing"),
    ],
)
def test_out_of_order_or_broken_chain_is_rejected(head, seq, prev, reason) -> None:
    d = decide_append(head, seq, prev, "d" * 64, None)
    assert d.verdict is Verdict.REJECT and d.reason == reason and d.detail


@pytest.fixture
def office() -> Signer:
    return Signer.generate("ชม 0017")


def test_signed_request_verifies(office: Signer) -> None:
    headers = sign_request(office, "POST", "/api/v1/push", b"{}", now=1_000_000)
    claims = parse_request_headers(headers)
    assert claims.office == "ชม 0017"
    verify_request(
        claims, "POST", "/api/v1/push", b"{}", office.private_key.public_key(), 1_000_010
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("GET", "/api/v1/push", b"{}", id="other-method"),
        pytest.param("POST", "/api/v1/pull", b"{}", id="other-path"),
        pytest.param("POST", "/api/v1/push", b'{"x":1}', id="other-body"),
    ],
)
def test_request_signature_binds_method_path_and_body(office: Signer, method, path, body) -> None:
    headers = sign_request(office, "POST", "/api/v1/push", b"{}", now=1_000_000)
    claims = parse_request_headers(headers)
    with pytest.raises(BadRequestSignature):
        verify_request(claims, method, path, body, office.private_key.public_key(), 1_000_000)


def test_stale_request_is_refused(office: Signer) -> None:
    claims = parse_request_headers(sign_request(office, "GET", "/x", b"", now=1_000_000))
    with pytest.raises(StaleRequest):
        verify_request(claims, "GET", "/x", b"", office.private_key.public_key(), 1_000_301)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        pytest.param(H_TIMESTAMP, "soon", id="timestamp-not-number"),
        pytest.param(H_NONCE, "short", id="nonce-too-short"),
        pytest.param(H_SIGNATURE, "***", id="signature-not-base64"),
        pytest.param(H_SIGNATURE, "", id="signature-missing"),
    ],
)
def test_malformed_signature_headers_are_refused(office: Signer, header, value) -> None:
    headers = sign_request(office, "GET", "/x", b"", now=1_000_000)
    headers[header] = value
    with pytest.raises(BadRequestSignature):
        parse_request_headers(headers)


def _directory(hub: Signer, version: int, offices: list[dict] | None = None):
    body = Directory(
        version=version,
        issued_at="2026-11-24T00:00:00+07:00",
        hub_keys=[{"keyid": hub.keyid, "public": hub.public_b64()}],
        offices=offices or [],
        lists={},
    ).to_dict()
    return sign_envelope("directory", body, hub)


def test_directory_rollback_is_refused() -> None:
    hub = Signer.generate("hub")
    pinned = {hub.keyid: hub.private_key.public_key()}
    v2 = accept_directory(_directory(hub, 2), pinned, None)
    with pytest.raises(StaleDirectory):
        accept_directory(_directory(hub, 1), pinned, v2)


def test_same_version_different_directory_is_refused() -> None:
    hub = Signer.generate("hub")
    pinned = {hub.keyid: hub.private_key.public_key()}
    office = {"id": "ชม 0017", "status": "pending", "keys": []}
    v2 = accept_directory(_directory(hub, 2), pinned, None)
    with pytest.raises(StaleDirectory):
        accept_directory(_directory(hub, 2, [office]), pinned, v2)


def test_directory_not_signed_by_pinned_hub_key_is_refused() -> None:
    hub, impostor = Signer.generate("hub"), Signer.generate("hub", 1)
    pinned = {hub.keyid: hub.private_key.public_key()}
    with pytest.raises(Exception) as info:
        accept_directory(_directory(impostor, 9), pinned, None)
    assert info.type.__name__ in {"BadSignature", "UnknownKey"}


def test_directory_signed_by_an_office_is_refused() -> None:
    office = Signer.generate("ชม 0017")
    pinned = {office.keyid: office.private_key.public_key()}
    with pytest.raises(BadMessage):
        accept_directory(_directory(office, 3), pinned, None)


def test_revoked_office_keys_are_not_trusted() -> None:
    hub, office = Signer.generate("hub"), Signer.generate("ชม 0017")
    pinned = {hub.keyid: hub.private_key.public_key()}
    entry = {
        "id": "ชม 0017",
        "status": "revoked",
        "keys": [{"keyid": office.keyid, "public": office.public_b64(), "status": "active"}],
    }
    trusted = accept_directory(_directory(hub, 3, [entry]), pinned, None)
    assert trusted.office_key(office.keyid) is None


def test_backoff_grows_with_failures_and_respects_cap_and_retry_after() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(n, rng, base=2, cap=60) for n in range(1, 10)]
    assert delays[0] <= 2 and max(delays) <= 60 and delays[-1] >= 30
    assert backoff_delay(1, rng, base=2, cap=60, retry_after=30) >= 30
    assert backoff_delay(0, rng) == 0
