"""`make bench`: DESIGN.md §9 targets measured on this machine, each against a limit
measured in the same run.

- envelope sign / verify vs raw Ed25519 sign / verify (target ≥ 90 %);
- hub ingest over real HTTP on 127.0.0.1, batches of 200 (target ≥ 3,000 envelopes/s),
  beside raw batched SQLite inserts of the same rows;

Prints one line per figure and writes bench-results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from protocol.auth import sign_request
from protocol.envelope import sign_envelope, verify_envelope
from protocol.keys import Signer
from protocol.messages import Letter


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Benchmarks print figures, not one line per request."""


def _rate(n: int, fn: Any) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - start)


def _letter(origin: str, seq: int, prev: str | None, to: str) -> dict[str, Any]:
    return Letter(
        origin=origin,
        seq=seq,
        prev=prev,
        created_at="2026-11-24T09:00:00+07:00",
        subject=f"ขอความร่วมมือรายงานข้อมูลการใช้ระบบสารบรรณอิเล็กทรอนิกส์ ฉบับที่ {seq}",
        number=f"ชม 0017.3/{seq}",
        letter_date="2026-11-24",
        speed="ด่วน",
        sender="สำนักงานจังหวัดเชียงใหม่",
        salutation="เรียน ปลัดกระทรวงมหาดไทย",
        body="ด้วยจังหวัดเชียงใหม่ขอรายงานข้อมูลการใช้ระบบ " * 4,
        recipients=[to],
    ).to_dict()


def bench_signatures(n: int) -> dict[str, float]:
    """Envelope sign/verify rates and the raw Ed25519 rates they are compared with."""
    signer = Signer.generate("ชม 0017")
    public = signer.private_key.public_key()
    body = _letter("ชม 0017", 1, None, "มท 0200")
    env = sign_envelope("letter", body, signer)
    raw_msg, raw_sig = b"x" * len(env.body), signer.sign(b"x" * len(env.body))
    keys = {signer.keyid: public}.get
    raw_sign = _rate(n, lambda _: signer.sign(raw_msg))
    env_sign = _rate(n, lambda _: sign_envelope("letter", body, signer))
    raw_verify = _rate(n, lambda _: public.verify(raw_sig, raw_msg))
    env_verify = _rate(n, lambda _: verify_envelope(env, keys))
    return {
        "raw_sign_per_s": raw_sign,
        "envelope_sign_per_s": env_sign,
        "sign_ratio": env_sign / raw_sign,
        "raw_verify_per_s": raw_verify,
        "envelope_verify_per_s": env_verify,
        "verify_ratio": env_verify / raw_verify,
    }


def bench_raw_sqlite(rows: list[bytes]) -> float:
    """Raw batched inserts of the same envelope bytes into a WAL SQLite file."""
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "raw.sqlite")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, env BLOB)")
        start = time.perf_counter()
        for i in range(0, len(rows), 200):
            with conn:
                conn.executemany(
                    "INSERT INTO t (env) VALUES (?)", [(r,) for r in rows[i : i + 200]]
                )
        rate = len(rows) / (time.perf_counter() - start)
        conn.close()
    return rate


def bench_ingest(total: int, batch: int) -> dict[str, float]:
    """Push ``total`` signed letters in batches to a real hub over loopback HTTP."""
    from hub.admin.instance import init_hub
    from hub.admin.tokens import issue_enrollment_token
    from hub.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        inst = Path(tmp) / "hub"
        init_hub(inst)
        app = create_app(instance_path=str(inst))
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}/api/v1"
        try:
            office = "ชม 0017"
            signer = Signer.generate(office)
            token = issue_enrollment_token(inst, office, 1)
            enroll = {
                "token": token,
                "office": office,
                "sign_keyid": signer.keyid,
                "sign_public": signer.public_b64(),
                "seal_public": Signer.generate("x").public_b64(),
                "software": "bench",
            }
            requests.post(url + "/enroll", json=enroll, timeout=30).raise_for_status()
            envelopes, prev = [], None
            for seq in range(1, total + 1):
                env = sign_envelope("letter", _letter(office, seq, prev, "มท 0200"), signer)
                envelopes.append(env)
                prev = env.env_id
            bodies = []
            for i in range(0, total, batch):
                wire = {"envelopes": [e.to_wire() for e in envelopes[i : i + batch]]}
                bodies.append(json.dumps(wire, ensure_ascii=False).encode())
            session = requests.Session()
            start = time.perf_counter()
            for body in bodies:
                headers = sign_request(signer, "POST", "/api/v1/push", body, time.time())
                headers["Content-Type"] = "application/json"
                resp = session.post(url + "/push", data=body, headers=headers, timeout=60)
                resp.raise_for_status()
                statuses = {r["status"] for r in resp.json()["results"]}
                if statuses != {"accepted"}:
                    raise RuntimeError(f"ingest rejected envelopes: {statuses}")
            ingest = total / (time.perf_counter() - start)
        finally:
            server.shutdown()
        raw = bench_raw_sqlite([e.to_bytes() for e in envelopes])
    return {"hub_ingest_per_s": ingest, "raw_sqlite_insert_per_s": raw}


def main() -> None:
    p = argparse.ArgumentParser(prog="bench")
    p.add_argument("--signatures", type=int, default=5000)
    p.add_argument("--ingest", type=int, default=10000)
    p.add_argument("--batch", type=int, default=200)
    args = p.parse_args()
    results: dict[str, Any] = {"machine_cores": len(__import__("os").sched_getaffinity(0))}
    results.update(bench_signatures(args.signatures))
    results.update(bench_ingest(args.ingest, args.batch))
    targets = {
        "sign_ratio": (0.9, "envelope sign / raw Ed25519 sign"),
        "verify_ratio": (0.9, "envelope verify / raw Ed25519 verify"),
        "hub_ingest_per_s": (3000, "hub ingest, envelopes/s"),
    }
    for key, value in results.items():
        target = targets.get(key)
        mark = ""
        if target:
            mark = "  ok" if value >= target[0] else f"  BELOW target {target[0]}"
        print(f"{key:<28} {value:>12.2f}{mark}")
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
