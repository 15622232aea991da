"""Where `saraban hub serve` and `saraban node serve` write their log: stderr, one line each.

Under systemd stderr is the journal (``journalctl -u saraban-hub``); there each line starts
with its syslog priority (``<4>`` for a warning), which the journal reads and strips, so
``journalctl -p warning`` finds the warnings, and the journal adds the time itself.
Elsewhere (a terminal, the demo's log files) a line carries its time, level and logger.

Without ``--log-level`` nothing is set up: Python's own last-resort handler prints warnings
and errors, as before. The scheduler's and the web server's chatter stay at warnings.

Does not: write files, rotate, or decide what is logged.
"""

from __future__ import annotations

import logging
import os
import sys

LOG_LEVELS = ("debug", "info", "warning", "error")
"""What ``--log-level`` takes."""

QUIET = ("apscheduler", "waitress")
"""Libraries that log every job run or connection at info: kept to warnings."""

SYSLOG_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class JournalFormatter(logging.Formatter):
    """``<priority>logger: message``, for the journal, which stamps the time itself."""

    def format(self, record: logging.LogRecord) -> str:
        priority = SYSLOG_PRIORITY.get(record.levelno, 6)
        text = super().format(record)
        # Every line of a traceback carries the priority, so the journal keeps them together.
        return "\n".join(f"<{priority}>{line}" for line in text.splitlines())


def log_to_stderr(level: str | None) -> None:
    """Log at ``level`` (one of :data:`LOG_LEVELS`) and above to stderr; None: leave it."""
    if level is None:
        return
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):  # set by systemd when stderr is the journal
        handler.setFormatter(JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
