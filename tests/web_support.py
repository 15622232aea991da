"""What the tests of the clerk's pages share: users of every role, signing in through the
real login form, CSRF tokens read from the page, and Debian's chromium driven by Playwright
with screenshots under tests/artifacts/.

In-process tests use Flask's test client against the node app (``Node.app``); browser
tests serve the same app with werkzeug on 127.0.0.1 (``support.serve``, or real processes,
see tests/test_web_flow.py).
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from playwright.sync_api import Browser, Page, ViewportSize, expect
from test_node_support import Node

from node.staff.published import note_change
from node.storage import audit
from protocol.passwords import hash_password

PASSWORD = "รหัสผ่านยาวพอ-2569"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
FORM_KEY_RE = re.compile(r'name="idempotency_key" value="([^"]+)"')
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DESKTOP = ViewportSize(width=1366, height=768)
PHONE = ViewportSize(width=390, height=844)

USERS: dict[str, tuple[str, list[str]]] = {
    "somsri": ("สมศรี ธุรการ", ["clerk"]),
    "boss": ("ประยุทธ หัวหน้าสำนักงาน", ["executive"]),
    "officer": ("มานะ ผู้ปฏิบัติ", ["officer"]),
    "registrar": ("วิชัย ทะเบียนลับ", ["registrar"]),
    "admin": ("อำนาจ ผู้ดูแล", ["admin"]),
}
"""One user of each role, all with :data:`PASSWORD`: user name -> (name, roles)."""


@functools.cache
def password_hash() -> str:
    """:data:`PASSWORD` hashed once per test process (scrypt takes 50 ms a time)."""
    return hash_password(PASSWORD)


def add_users(node: Node, divisions: dict[str, list[str]] | None = None) -> None:
    """Create :data:`USERS` at ``node`` as the admin's form leaves them (the row, its audit
    entry, the accounts version moved on); ``divisions`` gives some of them divisions.

    Loaded as rows with :data:`PASSWORD`'s hash made once per process: hundreds of tests
    start with these users. Making a user through the form or the API, its checks and
    its hash, is tested in tests/test_accounts.py and tests/test_web_admin.py.
    """
    now = node.ctx.now()
    with node.store() as s, s.transaction():
        for username, (name, roles) in USERS.items():
            units = (divisions or {}).get(username, [])
            s.insert(
                "users",
                {
                    "username": username,
                    "display_name": name,
                    "password_hash": password_hash(),
                    "roles": json.dumps(sorted(roles)),
                    "divisions": json.dumps(sorted(set(units)), ensure_ascii=False),
                    "active": 1,
                    "failures": 0,
                    "locked_until": 0,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            audit.record(s, now, "admin", "add_user", f"user:{username}", {"roles": sorted(roles)})
        note_change(s)


def csrf(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the form on ``path``."""
    match = CSRF_RE.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF field in the form of {path}"
    return match.group(1)


def login(node: Node, username: str = "somsri", password: str = PASSWORD) -> FlaskClient:
    """A test client signed in through the login form."""
    client = node.app.test_client()
    resp = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": csrf(client)}
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/", resp.status_code
    return client


def form_tokens(client: FlaskClient, path: str = "/") -> dict[str, str]:
    """The hidden fields a browser sends back with the first form on ``path``: the CSRF
    token and the idempotency key issued with the page."""
    page = client.get(path).get_data(as_text=True)
    token, key = CSRF_RE.search(page), FORM_KEY_RE.search(page)
    assert token and key, f"no CSRF token or idempotency key in the form of {path}"
    return {"csrf_token": token.group(1), "idempotency_key": key.group(1)}


def post_form(client: FlaskClient, path: str, data: dict[str, Any], page: str = "/") -> Any:
    """POST ``data`` to ``path`` with the hidden fields of a form on ``page``
    (:func:`form_tokens`), as a browser sends them."""
    return client.post(path, data={**data, **form_tokens(client, page)})


def refused_page(resp: Any, status: int, message: str) -> str:
    """The page of a refused request, checked to carry ``status`` and the Thai ``message``."""
    page = str(resp.get_data(as_text=True))
    assert resp.status_code == status, page
    assert message in page and "Traceback" not in page
    return page


def shot(page: Any, name: str) -> None:
    """A full-page screenshot ``tests/artifacts/<name>.png`` for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in_page(page: Any, url: str, username: str = "somsri", password: str = PASSWORD) -> None:
    """Sign in through the login form in the browser and land on งานของฉัน."""
    page.goto(f"{url}/login")
    page.get_by_label("ชื่อผู้ใช้").fill(username)
    page.get_by_label("รหัสผ่าน").fill(password)
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    page.wait_for_url(f"{url}/")


def signed_in_page(
    browser: Any, url: str, username: str = "somsri", viewport: ViewportSize = DESKTOP
) -> Any:
    """A new Thai-locale browser page, signed in as ``username`` and on งานของฉัน."""
    page = browser.new_page(viewport=viewport, locale="th-TH")
    log_in_page(page, url, username)
    return page


def assert_serves_its_icon(browser: Browser, page: Page, url: str) -> None:
    """The page links an icon under ``/static/``, which is served (as ``/favicon.ico``
    too) as SVG and draws in the browser."""
    href = page.locator('link[rel="icon"]').get_attribute("href")
    assert href and href.startswith("/static/")
    for path in (href, "/favicon.ico"):
        icon = page.request.get(f"{url}{path}")
        assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    icon_page = browser.new_page()
    icon_page.goto(f"{url}{href}")
    expect(icon_page.locator("svg")).to_be_visible()
    icon_page.close()
