"""The control register of classified letters (ทะเบียนควบคุมหนังสือลับ) at an office that
receives sealed letters through a real hub: printed as a PDF for the registrar with the
subjects opened at printing time, refused to a clerk without clearance, and every open,
download, print and hand-over of a classified letter in the audit trail."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from pypdf import PdfReader
from support import CHIANG_MAI, CHIANG_RAI, Clock
from test_node_support import Federation, Node, federation
from test_sealed_letters import CLERK, REGISTRAR, SUBJECT, get, send_sealed
from web_support import add_users, login

from node.context import SEAL_KEY_FILE
from protocol.sealing import SEALED_SUBJECT


@pytest.fixture
def fed(tmp_path: Path) -> Iterator[Federation]:
    with federation(tmp_path, Clock()) as f:
        yield f


def squeezed_text(pdf: bytes) -> str:
    pages = PdfReader(io.BytesIO(pdf)).pages
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in pages))


def received_and_registered(fed: Federation) -> tuple[Node, dict[str, Any], str]:
    """A ลับ letter from Chiang Mai registered at Chiang Rai: the node, its inbox row and
    the year of the register."""
    cm, cr = fed.node(CHIANG_MAI), fed.node(CHIANG_RAI)
    assert cm.sync().ok
    sent = send_sealed(cm, [CHIANG_RAI], "ลับ")
    assert cm.sync().ok and cr.sync().ok
    (row,) = cr.inbox()
    assert row["subject"] == SEALED_SUBJECT and row["number"] == sent["number"]
    registered = cr.call("POST", f"/api/letters/{row['id']}/register", {})
    _, series, year = registered["register"].split("|")
    assert series == "ลับ"
    return cr, row, year


def actions(node: Node) -> list[tuple[str, str, str]]:
    rows = node.rows("SELECT actor, action, subject FROM audit ORDER BY id")
    return [(r["actor"], r["action"], r["subject"]) for r in rows]


def test_the_registrar_prints_the_classified_register_with_the_sealed_subject(
    fed: Federation,
) -> None:
    cr, row, year = received_and_registered(fed)

    resp = get(cr, f"/api/registers/{quote('ลับ')}/print?year={year}", REGISTRAR)
    assert resp.status_code == 200 and resp.mimetype == "application/pdf", resp.get_json()
    printed = squeezed_text(resp.data)
    assert "ทะเบียนควบคุมหนังสือลับ" in printed
    # ทะเบียนที่, ชั้นความลับ, ที่, then (after the date) the subject opened for the print.
    assert f"1ลับ{row['number'].replace(' ', '')}" in printed
    assert f"{SUBJECT.replace(' ', '')}ลงรับแล้ว" in printed
    assert SEALED_SUBJECT not in printed.split("วันที่ลงทะเบียน", 1)[1]  # only in the title
    assert ("wipa", "print_classified_register", f"register:{CHIANG_RAI}|ลับ|{year}") in actions(cr)
    # Nothing decrypted was stored by printing.
    assert not cr.rows("SELECT id FROM letters WHERE subject = ?", (SUBJECT,))


def test_a_clerk_without_clearance_is_refused_the_register_and_the_refusal_recorded(
    fed: Federation,
) -> None:
    cr, _, year = received_and_registered(fed)

    resp = get(cr, f"/api/registers/{quote('ลับ')}/print?year={year}", CLERK)
    answer = resp.get_json()
    assert (resp.status_code, answer["error"]) == (403, "classified_register_refused")
    assert "เฉพาะนายทะเบียนหนังสือลับ" in answer["message_th"]
    assert SUBJECT not in resp.get_data(as_text=True)
    assert ("somchai", "classified_register_refused", "register:ลับ") in actions(cr)
    assert not [a for a in actions(cr) if a[1] == "print_classified_register"]


def test_every_open_download_and_hand_over_of_a_classified_letter_is_recorded(
    fed: Federation,
) -> None:
    cr, row, _ = received_and_registered(fed)
    letter = f"letter:{row['id']}"

    opened = get(cr, f"/api/letters/{row['id']}/sealed", REGISTRAR).get_json()
    (attachment,) = opened["attachments"]
    download = get(cr, f"/api/letters/{row['id']}/sealed/{attachment['sha256']}", REGISTRAR)
    assert download.status_code == 200
    cr.call("POST", f"/api/letters/{row['id']}/assign", {"to": "นางสาวสมศรี ใจดี"})
    cr.call("POST", f"/api/letters/{row['id']}/forward", {"to": "นายประสิทธิ์ มั่นคง"})
    refused = get(cr, f"/api/letters/{row['id']}/sealed", CLERK)
    assert refused.status_code == 404

    recorded = [(actor, action) for actor, action, subject in actions(cr) if subject == letter]
    assert ("wipa", "open_classified") in recorded
    assert ("wipa", "download_classified") in recorded
    assert [a for _, a in recorded if a in ("assign", "forward")] == ["assign", "forward"]
    details = " ".join(r["detail"] for r in cr.rows("SELECT detail FROM audit"))
    assert "นายประสิทธิ์ มั่นคง" in details and SUBJECT not in details


def test_the_registers_page_shows_it_to_the_registrar_and_records_the_viewing(
    fed: Federation,
) -> None:
    cr, _, year = received_and_registered(fed)
    add_users(cr)
    page = login(cr, "registrar").get(f"/registers?series={quote('ลับ')}&year={year}")
    assert page.status_code == 200 and SUBJECT in page.get_data(as_text=True)
    assert "view_classified_register" in [a for _, a, _ in actions(cr)]
    clerk = login(cr).get(f"/registers?series={quote('ลับ')}&year={year}")
    assert clerk.status_code == 403 and SUBJECT not in clerk.get_data(as_text=True)


def test_a_letter_sealed_to_a_lost_key_prints_with_the_advice_to_ask_for_it_again(
    fed: Federation,
) -> None:
    cr, row, year = received_and_registered(fed)
    (cr.instance / SEAL_KEY_FILE).unlink()  # the office's seal key is lost

    resp = get(cr, f"/api/registers/{quote('ลับ')}/print?year={year}", REGISTRAR)
    assert resp.status_code == 200
    printed = squeezed_text(resp.data)
    assert f"1ลับ{row['number'].replace(' ', '')}" in printed and "ขอต้นเรื่องส่งใหม่" in printed
    assert SUBJECT.replace(" ", "") not in printed
