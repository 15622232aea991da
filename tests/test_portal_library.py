"""The ministry's library (ADR 0024): a clerk ticks เผยแพร่ในคลังหนังสือของกระทรวง on the
compose page of a regulation, an order or a circular; the signed letter carries
``"library": true``; at the portal every office finds it in the library, reads it and
downloads its attachment, although it was addressed to one office only. A letter of
another kind, or a classified one, cannot be marked so.

A real hub on 127.0.0.1 and real nodes enrolled through it; the compose form is posted
as a browser posts it (CSRF token and idempotency key of the page).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from portal_support import ENV_RE, Portal, enrol, visible_text
from support import CHIANG_MAI, KHON_KAEN, MINISTRY, Clock
from test_node_support import Federation, Node, federation
from web_support import form_tokens, login, refused_page

from protocol.canonical import parse_canonical
from protocol.envelope import Envelope

RULES = "ระเบียบกระทรวงมหาดไทยว่าด้วยการใช้ระบบสารบรรณอิเล็กทรอนิกส์"
PDF = b"%PDF-1.4 the regulation in full " * 8


def compose(node: Node, client: Any, **fields: str) -> Any:
    data: dict[str, Any] = {
        "letter_type": "สั่งการ",
        "sub_type": "ระเบียบ",
        "speed": "",
        "deadline": "",
        "unit": node.office,
        "subject": RULES,
        "salutation": "ผู้ว่าราชการจังหวัดทุกจังหวัด",
        "references": "",
        "enclosures": "",
        "body": "ให้ทุกหน่วยงานถือปฏิบัติตามระเบียบนี้ตั้งแต่วันที่ประกาศ",
        "parties": "",
        "method": "",
        "library": "yes",
        "action": "send",
        **fields,
        **form_tokens(client, "/compose"),
    }
    data["recipients"] = [CHIANG_MAI]
    data["attachments"] = [(io.BytesIO(PDF), "ระเบียบฉบับเต็ม.pdf")]
    return client.post("/compose", data=data, content_type="multipart/form-data")


class World:
    def __init__(self, fed: Federation) -> None:
        self.fed = fed
        self.mt = fed.node(MINISTRY)
        self.cm = fed.node(CHIANG_MAI)
        self.kk = fed.node(KHON_KAEN)
        enrol(self.mt, "somsri", ["clerk"], totp=False)
        self.somchai = enrol(self.kk, "somchai", ["clerk"])
        self.clerk = login(self.mt)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with federation(tmp_path, Clock()) as fed:
        yield World(fed)


def test_a_regulation_marked_for_the_library_is_read_by_every_office(world: World) -> None:
    answer = compose(world.mt, world.clerk)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    rows = world.mt.rows("SELECT envelope FROM feed WHERE kind = 'letter'")
    [body] = [parse_canonical(Envelope.from_bytes(r["envelope"]).body) for r in rows]
    assert body["library"] is True and body["recipients"] == [CHIANG_MAI]
    for node in (world.mt, world.cm, world.kk):
        assert node.sync().ok
    portal = Portal.on(world.fed)
    client = portal.sign_in(world.somchai)  # ขอนแก่น: not a recipient
    library = portal.page(client, "/library")
    assert RULES in visible_text(library)
    found = portal.page(client, "/library?q=" + quote("สารบรรณ"))
    assert "<mark>สารบรรณ</mark>" in found
    env = ENV_RE.search(found)
    assert env
    page = portal.page(client, f"/letters/{env.group(1)}")
    text = visible_text(page)
    assert RULES in text and "ถือปฏิบัติตามระเบียบนี้" in text and "คลังหนังสือของกระทรวง" in text
    assert 'id="tracking"' not in page  # its content, not the tracking of another office's
    link = page.split('href="/letters/', 2)[1].split('"')[0]
    assert "/files/" in link
    download = portal.get(client, f"/letters/{link}")
    assert download.status_code == 200 and download.data == PDF
    export = portal.get(client, "/library/export.xlsx")
    assert (
        export.status_code == 200
        and "saraban-portal-library-2569" in export.headers["Content-Disposition"]
    )
    # The search page lists the library's letters with the office's own.
    assert env.group(1) in portal.page(client, "/?q=" + quote("ระเบียบกระทรวง"))


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"letter_type": "ภายนอก", "sub_type": ""}, "ได้เฉพาะหนังสือเวียน คำสั่ง และระเบียบ"),
        ({"secrecy": "ลับ"}, "หนังสือชั้นความลับเผยแพร่ในคลังหนังสือ"),
    ],
)
def test_only_circulars_orders_and_regulations_go_to_the_library(
    world: World, fields: dict[str, str], words: str
) -> None:
    if fields.get("secrecy"):
        enrol(world.mt, "registrar", ["registrar"], totp=False)
        world.clerk = login(world.mt, "registrar")
    before = world.mt.rows("SELECT COUNT(*) AS n FROM letters")[0]["n"]
    page = refused_page(compose(world.mt, world.clerk, **fields), 400, words)
    assert 'name="library" value="yes" checked' in page or "checked" in page
    assert world.mt.rows("SELECT COUNT(*) AS n FROM letters")[0]["n"] == before


def test_the_compose_page_offers_the_library_box(world: World) -> None:
    page = world.clerk.get("/compose").get_data(as_text=True)
    assert "เผยแพร่ในคลังหนังสือของกระทรวง" in page and 'name="library"' in page
