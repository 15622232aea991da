"""``make soak``: a hub and 19 office nodes under random traffic and random faults for a
while, then every store checked.

The hub and one node per pilot office run as processes (:mod:`scripts.faults.federation`),
each node behind its own fault proxy with a flaky plan. For ``--minutes``:

* clerk threads send letters (some with attachments, some numbered from the shared ว
  register), ลงรับ or ส่งคืน what arrived, and press sync, through the nodes' local API;
  each node's own scheduler syncs every minute besides;
* a chaos thread SIGKILLs nodes and the hub, restarts them with a crash point armed
  (:mod:`protocol.crashpoints`), runs a node's nightly job with a crash armed, partitions
  links, and (with ``--old-copies``) starts a node again from an old copy of its folder.

Then every process comes back, the links heal, everyone syncs until quiet, every letter
is registered, the processes stop and :func:`scripts.invariants.check_federation` reads
every store. ``soak-result.json`` holds ``letters``, ``deliveries``, ``lost``,
``duplicated``, ``numbers_reissued``, ``invariant_violations`` and ``faults_injected`` by
kind; the exit status is 1 on any loss, duplicate, reissued number or violation.

Every random choice comes from ``--seed``: the same seed makes the same choices in the same
order (the exact interleaving of threads and processes still varies from run to run).

Does not: run in ``make test`` (it takes minutes), or judge anything itself.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from protocol.crashpoints import CRASH_ENV
from scripts.faults.federation import FaultFederation, letter_json, read_rows
from scripts.faults.proxy import FAULT_KINDS, FaultPlan
from scripts.fleet import Service
from scripts.nodeapi import NodeAPIError

SHARED = ("มท 0200", "ว")
NODE_CRASH_POINTS = ("node_pull_mid_batch", "node_blob_mid_upload", "node_number_before_envelope")
NODE_ENV = {
    "SARABAN_NODE_SYNC_INTERVAL_MINUTES": "1",
    "SARABAN_NODE_PUSH_BATCH": "25",
    "SARABAN_NODE_PULL_BATCH": "25",
    "SARABAN_NODE_CHUNK_BYTES": "8192",
    "SARABAN_NODE_LEASE_SIZE": "5",
}
CRASH_FIRED = re.compile(r"saraban: crash point (\w+) reached")
NIGHTLY = (
    "import sys\nfrom node.context import NodeContext\nfrom node.sync.jobs import nightly\n"
    "nightly(NodeContext.load(sys.argv[1]))\n"
)


def _latest(env_id: str, signed_again: dict[str, str]) -> str:
    """The env_id a letter has now, following each time it was signed again."""
    seen = {env_id}
    while env_id in signed_again and signed_again[env_id] not in seen:
        env_id = signed_again[env_id]
        seen.add(env_id)
    return env_id


class Soak:
    """One soak run: the federation, the clerks, the chaos and what they did."""

    def __init__(self, args: argparse.Namespace, offices: Sequence[str]) -> None:
        self.args = args
        self.fed = FaultFederation(args.workdir, offices, args.seed, NODE_ENV)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.actions: Counter[str] = Counter()
        self.chaos: Counter[str] = Counter()
        # Every letter a clerk saw sent: env_id -> (office, when).
        self.acknowledged: dict[str, tuple[str, float]] = {}
        self.copies: dict[str, tuple[Path, float]] = {}  # office -> (old copy, when taken)
        # Letters only the discarded disk held when an old copy replaced it: the fault
        # itself destroyed them, as it would in an office; reported, not counted as lost.
        self.gone_with_disk: set[str] = set()
        self.log_from: dict[str, int] = {}  # who: size of its log when last started
        self.killed: set[str] = set()
        self.armed: set[str] = set()
        """Processes running with a crash point armed (``hub`` or an office)."""
        self.unexpected_exits: list[str] = []
        self.log = (args.workdir / "soak-events.jsonl").open("a", encoding="utf-8")

    def event(self, kind: str, **detail: Any) -> None:
        """Record one thing the soak did, for the replay log."""
        with self.lock:
            line = {"t": round(time.monotonic(), 3), "kind": kind, **detail}
            self.log.write(json.dumps(line, ensure_ascii=False) + "\n")
            self.log.flush()

    # ---- the clerks ---------------------------------------------------------------------

    def clerk(self, number: int) -> None:
        rng = random.Random(f"{self.args.seed}:clerk:{number}")
        offices = self.fed.offices
        while not self.stop.is_set():
            office = rng.choice(offices)
            roll = rng.random()
            try:
                if roll < 0.5:
                    self.send(rng, office)
                elif roll < 0.75:
                    self.answer(rng, office)
                else:
                    self.fed.sync(office)
                    self.actions["sync"] += 1
            except NodeAPIError as e:
                self.actions[f"refused {e.status or 'unreachable'}"] += 1
            self.stop.wait(rng.uniform(0.05, 0.4))  # a clerk's pace, not synchronisation

    def send(self, rng: random.Random, office: str) -> None:
        others = [o for o in self.fed.offices if o != office]
        recipients = rng.sample(others, rng.randint(1, 3))
        attachment = b""
        if rng.random() < 0.2:
            attachment = rng.randbytes(rng.randint(1000, 30000))
        letter = letter_json(f"หนังสือทดสอบระยะยาว {rng.getrandbits(32):08x}", recipients, attachment)
        if rng.random() < 0.15:
            letter["series"] = SHARED[1]
        answer = self.fed.api(office).call("POST", "/api/letters", letter)
        with self.lock:
            self.acknowledged[str(answer["env_id"])] = (office, time.monotonic())
        self.actions["send"] += 1

    def answer(self, rng: random.Random, office: str) -> None:
        waiting = [i for i, _, state in self.fed.incoming(office) if state == "delivered"]
        if not waiting:
            return
        letter_id = rng.choice(waiting)
        api = self.fed.api(office)
        try:
            if rng.random() < 0.1:
                reason = {"reason": "ส่งผิดหน่วยงาน ขอส่งคืน"}
                api.call("POST", f"/api/letters/{letter_id}/return", reason)
                self.actions["return"] += 1
            else:
                api.call("POST", f"/api/letters/{letter_id}/register", {})
                self.actions["register"] += 1
        except NodeAPIError as e:
            if e.status != 409:  # another clerk answered it first
                raise

    # ---- the chaos ----------------------------------------------------------------------

    def chaos_loop(self) -> None:
        rng = random.Random(f"{self.args.seed}:chaos")
        faults = ["kill_node", "crash_point", "partition", "nightly", "kill_hub", "hub_crash"]
        if self.args.old_copies:
            faults += ["copy_folder", "old_copy"]
        while not self.stop.wait(rng.uniform(*self.args.chaos_seconds)):
            self.revive()
            fault = rng.choice(faults)
            try:
                getattr(self, f"chaos_{fault}")(rng, rng.choice(self.fed.offices))
            except (RuntimeError, OSError, AssertionError) as e:
                self.event("chaos_failed", fault=fault, error=str(e)[:300])

    def revive(self) -> None:
        """Start again whatever died: the hub first, then every node, without a crash armed."""
        hub = self.fed.hub
        if hub is not None and hub.proc.poll() is not None:
            self.died("hub", hub)
            self.start("hub")
        for office, service in list(self.fed.nodes.items()):
            if service.proc.poll() is not None:
                self.died(office, service)
                self.start(office)

    def died(self, who: str, service: Service) -> None:
        """Account for a dead process: killed by the chaos, at a crash point, or on its own."""
        code = service.proc.returncode
        with service.log.open("rb") as log:
            log.seek(self.log_from.get(who, 0))
            fired = CRASH_FIRED.search(log.read().decode("utf-8", errors="replace"))
        if fired:
            self.chaos[f"crash point {fired.group(1)}"] += 1
        elif who in self.killed:
            self.killed.discard(who)
        else:
            self.unexpected_exits.append(f"{who} exited with {code}")
        self.event("restart", who=who, code=code, crashed_at=fired.group(1) if fired else None)

    def start(self, who: str, crash_at: str | None = None) -> None:
        """Start the hub (``who`` is ``hub``) or a node again, its log read from here on."""
        log = self.fed.log(who)
        self.log_from[who] = log.stat().st_size if log.exists() else 0
        if crash_at:
            self.armed.add(who)
        else:
            self.armed.discard(who)
        if who == "hub":
            self.fed.start_hub(crash_at)
        else:
            self.fed.start_node(who, crash_at)

    def chaos_kill_node(self, rng: random.Random, office: str) -> None:
        if self.fed.nodes[office].proc.poll() is None:
            self.killed.add(office)
        self.fed.kill_node(office)
        self.event("sigkill", who=office)

    def chaos_crash_point(self, rng: random.Random, office: str) -> None:
        spec = f"{rng.choice(NODE_CRASH_POINTS)}:{rng.randint(1, 6)}"
        self.fed.nodes[office].stop()
        self.start(office, crash_at=spec)
        self.actions[f"armed {spec.partition(':')[0]}"] += 1
        self.event("crash_point", who=office, spec=spec)

    def chaos_kill_hub(self, rng: random.Random, office: str) -> None:
        self.fed.kill_hub()
        self.event("sigkill", who="hub")
        self.start("hub")

    def chaos_hub_crash(self, rng: random.Random, office: str) -> None:
        spec = f"hub_push_committed:{rng.randint(1, 15)}"
        assert self.fed.hub is not None
        self.fed.hub.stop()
        self.start("hub", crash_at=spec)
        self.actions["armed hub_push_committed"] += 1
        self.event("crash_point", who="hub", spec=spec)

    def chaos_partition(self, rng: random.Random, office: str) -> None:
        seconds = rng.uniform(2, 10)
        self.fed.proxies[office].partition(seconds)
        self.event("partition", who=office, seconds=round(seconds, 1))

    def chaos_nightly(self, rng: random.Random, office: str) -> None:
        armed = rng.random() < 0.5
        env = {**os.environ, **self.fed.node_env, CRASH_ENV: "node_nightly" if armed else ""}
        done = subprocess.run(
            [sys.executable, "-c", NIGHTLY, str(self.fed.instance(office))],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode < 0:
            self.chaos["crash point node_nightly"] += 1
        elif done.returncode:
            self.unexpected_exits.append(f"{office}'s nightly job exited with {done.returncode}")
        self.actions["nightly"] += 1
        self.event("nightly", who=office, armed=armed, code=done.returncode)

    def chaos_copy_folder(self, rng: random.Random, office: str) -> None:
        target = self.args.workdir / "old-copies" / f"{office.replace(' ', '_')}-{time.time_ns()}"
        taken = time.monotonic()
        self.copies[office] = (self.fed.copy_node_folder(office, target), taken)
        self.event("copy_folder", who=office)

    def chaos_old_copy(self, rng: random.Random, office: str) -> None:
        if not self.copies:
            self.chaos_copy_folder(rng, office)
            return
        office = rng.choice(sorted(self.copies))
        copy, taken = self.copies.pop(office)
        self.fed.kill_node(office)
        at_hub = {str(e) for (e,) in self.fed.hub_rows("SELECT env_id FROM feed")}
        with self.lock:
            gone = {
                env_id
                for env_id, (sender, when) in self.acknowledged.items()
                if sender == office and when >= taken and env_id not in at_hub
            }
            self.gone_with_disk |= gone
        self.fed.put_back_node_folder(office, copy)
        self.start(office)
        self.event("old_copy", who=office, letters_gone_with_disk=len(gone))

    # ---- the run ------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        plan = FaultPlan(
            FaultPlan.flaky(self.args.flaky, [k for k in FAULT_KINDS if k != "partition"]).rates,
            delay_seconds=(0.05, 1.0),
        )
        for proxy in self.fed.proxies.values():
            proxy.set_plan(plan)
        threads = [
            threading.Thread(target=self.clerk, args=(i,), daemon=True)
            for i in range(self.args.clerks)
        ]
        threads.append(threading.Thread(target=self.chaos_loop, daemon=True))
        for t in threads:
            t.start()
        self.stop.wait(self.args.minutes * 60)  # the soak's length: nothing to wait for
        self.stop.set()
        for t in threads:
            t.join(timeout=600)
        self.event("traffic_stopped", seconds=round(time.monotonic() - started))
        return self.settle(started)

    def signed_again(self) -> dict[str, str]:
        """Letters a node signed again after it was started from an old copy (their seq
        was taken at the hub meanwhile): the env_id a clerk saw, and the new one."""
        again: dict[str, str] = {}
        for office in self.fed.offices:
            rows = read_rows(
                self.fed.node_db(office),
                "SELECT detail FROM audit WHERE action = 'letter_signed_again'",
            )
            for (detail,) in rows:
                d = json.loads(detail)
                again[str(d["old_env_id"])] = str(d["env_id"])
        return again

    def settle(self, started: float) -> dict[str, Any]:
        """Bring everything back, finish the day, stop the processes and check the stores."""
        unsettled: list[str] = []
        self.revive()
        for who in sorted(self.armed):  # the day is over: no crash point fires while settling
            service = self.fed.hub if who == "hub" else self.fed.nodes[who]
            assert service is not None
            service.stop()
            self.start(who)
        self.fed.heal()
        try:
            self.fed.sync_until_quiet()
            self.fed.register_all()
            self.fed.sync_until_quiet()
        except (AssertionError, NodeAPIError) as e:
            unsettled.append(f"the federation did not settle: {e}")
        self.fed.stop()
        report = self.fed.check()
        at_hub = {str(e) for (e,) in self.fed.hub_rows("SELECT env_id FROM feed")}
        signed_again = self.signed_again()
        missing = [
            e
            for e in self.acknowledged
            if _latest(e, signed_again) not in at_hub and e not in self.gone_with_disk
        ]
        violations = unsettled + report["violations"]
        if missing:
            violations.append(f"{len(missing)} letter(s) a clerk saw sent are not at the hub")
        faults = Counter(self.chaos)
        faults.update(self.fed.faults_injected())
        return {
            "seed": self.args.seed,
            "minutes": self.args.minutes,
            "nodes": len(self.fed.offices),
            "letters": report["letters"],
            "deliveries": report["deliveries"],
            "lost": report["lost"] + len(missing),
            "duplicated": report["duplicated"],
            "numbers_reissued": report["numbers_reissued"],
            "invariant_violations": violations,
            "faults_injected": dict(sorted(faults.items())),
            "actions": dict(sorted(self.actions.items())),
            "unexpected_exits": self.unexpected_exits,
            "letters_gone_with_a_replaced_disk": len(self.gone_with_disk),
            "letters_signed_again": sum(1 for e in self.acknowledged if e in signed_again),
            "receipts_registered": report["receipts_registered"],
            "receipts_returned": report["receipts_returned"],
            "seconds": round(time.monotonic() - started),
            "replay": f"make soak SOAK_MINUTES={self.args.minutes:g} SOAK_SEED={self.args.seed}",
        }


def failed(result: dict[str, Any]) -> bool:
    """Whether the soak lost, duplicated or reissued anything, or broke an invariant."""
    return bool(
        result["lost"]
        or result["duplicated"]
        or result["numbers_reissued"]
        or result["invariant_violations"]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m scripts.soak``; 1 when :func:`failed`."""
    p = argparse.ArgumentParser(prog="python -m scripts.soak", description=__doc__)
    p.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", "30")))
    p.add_argument("--seed", type=int, default=int(os.environ.get("SOAK_SEED", "1")))
    p.add_argument("--nodes", type=int, default=19, help="how many pilot offices (up to 19)")
    p.add_argument("--clerks", type=int, default=4, help="clerk threads")
    p.add_argument("--flaky", type=float, default=0.1, help="share of requests meeting a fault")
    p.add_argument("--chaos-seconds", type=float, nargs=2, default=(3.0, 8.0))
    p.add_argument(
        "--old-copies",
        action=argparse.BooleanOptionalAction,
        default=os.environ.get("SOAK_OLD_COPIES", "on") not in ("", "0", "no", "off"),
        help="also restart nodes from old copies of their folder",
    )
    p.add_argument("--workdir", type=Path, default=Path("soak-run"))
    p.add_argument("--result", type=Path, default=Path("soak-result.json"))
    args = p.parse_args(argv)

    from hub.admin.instance import seed_data

    offices = [o["id"] for o in seed_data()["offices"]][: args.nodes]
    if args.workdir.exists():
        shutil.rmtree(args.workdir)
    args.workdir.mkdir(parents=True)
    soak = Soak(args, offices)
    print(f"soak: hub and {len(offices)} nodes for {args.minutes:g} min, seed {args.seed}")
    try:
        soak.fed.start(shared=[(SHARED[0], SHARED[1], offices)])
        result = soak.run()
    finally:
        soak.fed.stop()
        soak.log.close()
    args.result.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    summary = {k: result[k] for k in ("letters", "deliveries", "lost", "duplicated")}
    print(f"soak: {summary}, numbers reissued {result['numbers_reissued']}")
    print(f"soak: faults injected {result['faults_injected']}")
    for violation in result["invariant_violations"]:
        print(violation)
    print(f"soak: {'FAILED' if failed(result) else 'passed'}; wrote {args.result}")
    return 1 if failed(result) else 0


if __name__ == "__main__":
    sys.exit(main())
