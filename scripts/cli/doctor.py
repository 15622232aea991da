"""`saraban node doctor` and `saraban hub doctor`: is this machine's office or hub ready to run?

Each checks one instance folder and prints one Thai line per check: ``ปกติ`` (fine),
``ตรวจไม่ได้`` (could not be checked here) or ``ปัญหา`` with what is wrong and what to do,
then a count; ``--json`` prints the same as one object. The exit status is 1 when any check
found a problem, 0 otherwise, so a monitoring script can rely on it.

Both look at the key files, every file's mode and the disks (:mod:`scripts.cli.checks`);
the node also at the hub link and its enrolment, the clock against the hub and the age of
the last scheduled sync (:mod:`scripts.cli.doctor_node`), the hub at its address answering,
its clock kept by NTP and its scheduled jobs (:mod:`scripts.cli.doctor_hub`).

Does not: change anything it finds, or start a sync or a job.
"""

from __future__ import annotations

import argparse

from scripts.cli.checks import report
from scripts.cli.kit import Cmd, Groups, instance_dir

# Each doctor imports its side when it runs: building the parser loads neither the hub's
# store nor the node's pages.


def node_doctor(args: argparse.Namespace) -> int:
    from scripts.cli.doctor_node import node_findings

    instance = instance_dir(args, "node")
    findings = node_findings(instance, args.timeout)
    return report("node", instance, f"ตรวจเครื่องของหน่วยงานที่ {instance}", findings, args.json)


def hub_doctor(args: argparse.Namespace) -> int:
    from scripts.cli.doctor_hub import hub_findings

    instance = instance_dir(args, "hub")
    findings = hub_findings(instance, args.url, args.timeout)
    return report("hub", instance, f"ตรวจเครื่องศูนย์กลางที่ {instance}", findings, args.json)


def add_commands(groups: Groups, cmd: Cmd) -> None:
    """`node doctor` and `hub doctor`."""
    c = cmd(
        groups["node"],
        "doctor",
        node_doctor,
        "check keys, file modes, clock, disk, the hub link and the schedule; exit 1 on a problem",
        "node",
    )
    c.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the hub")
    c = cmd(
        groups["hub"],
        "doctor",
        hub_doctor,
        "check keys, file modes, clock, disk, the served address and the jobs; exit 1 on a problem",
        "hub",
    )
    c.add_argument(
        "--url", help="the address to try (default: http://HOST:PORT of the hub's settings)"
    )
    c.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for an answer")
