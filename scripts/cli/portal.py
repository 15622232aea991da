"""`saraban hub portal`: the correspondence portal (ADR 0024) served alone, on its own address.

`saraban hub serve --portal-bind HOST:PORT` serves it next to the hub's API instead; both
read the hub's settings (``PORTAL_*``) and database.
"""

from __future__ import annotations

import argparse

from scripts.cli.kit import Cmd, Groups, instance_dir
from scripts.cli.logs import LOG_LEVELS, log_to_stderr


def hub_portal(args: argparse.Namespace) -> None:
    from scripts.serving import serve_portal

    log_to_stderr(args.log_level)
    serve_portal(instance_dir(args, "hub"), args.bind or "", threads=args.threads)


def add_commands(groups: Groups, cmd: Cmd) -> None:
    """The portal command, in the hub group."""
    c = cmd(groups["hub"], "portal", hub_portal, "serve the portal alone (waitress)", "hub")
    c.add_argument("--bind", help="HOST:PORT (default: setting PORTAL_BIND)")
    c.add_argument("--threads", type=int, help="default: setting THREADS (8)")
    c.add_argument("--log-level", choices=LOG_LEVELS, help="log at this level and above to stderr")
