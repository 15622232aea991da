"""The hub's database: every SQL statement of the hub lives in this package.

One SQLite file in WAL mode with a busy timeout by default, or a PostgreSQL database
(``DATABASE_URL``, :mod:`hub.store.postgres`, ADR 0026) read through the same SQL; writes
run inside ``BEGIN IMMEDIATE`` transactions (:meth:`HubStore.write`), so one writer at a
time on either engine and no lost updates. The rest of the hub talks to :class:`HubStore`
methods, never to SQL.

:class:`HubStore` is one class put together from one mixin per concept, each holding the
SQL of its own tables on top of :class:`hub.store.connection.Connection` (opening,
transactions, the query helpers, the hub's metadata):

* :mod:`hub.store.schema`: the tables, and the upgrade of a file an older hub wrote;
* :mod:`hub.store.offices`: the offices and what their nodes last reported;
* :mod:`hub.store.keys`: office and hub signing keys, and the nonces of signed requests;
* :mod:`hub.store.tokens`: enrollment tokens (hashes only);
* :mod:`hub.store.feeds`: the envelopes each office's feed holds;
* :mod:`hub.store.mailboxes`: what each office has to pull, and the hub's own envelopes;
* :mod:`hub.store.routes`: who each letter went to, the attachments it lists, who may read them;
* :mod:`hub.store.quarantine` and :mod:`hub.store.alerts`: what the operator must look at;
* :mod:`hub.store.collection`: which attachment bytes letters cite, and what was collected;
* :mod:`hub.store.numbering`: the numbering ledger, leases, rejections and daily reports;
* :mod:`hub.store.directory`: signed directory versions, distribution lists, shared registers;
* :mod:`hub.store.sync_sessions`: each push and pull of a node;
* :mod:`hub.store.operators`: console accounts and the log of what operators did;
* :mod:`hub.store.statistics`: the usage facts and the counts over them;
* :mod:`hub.store.delivery_times`: each letter's times from sending to ลงรับ, per recipient;
* :mod:`hub.store.audit_heads`: the signed audit chain heads offices sent;
* :mod:`hub.store.portal_letters` and :mod:`hub.store.portal_search`: the portal's letters,
  their index and the search over them;
* :mod:`hub.store.processes`: the hub's serving processes, the jobs they claimed, and the
  rate limits they share when there are several (ADR 0025).

This package makes no decisions: what to store, route or reject is decided by the callers
(:mod:`hub.federation.ingest`, :mod:`hub.federation.routing`, :mod:`hub.numbering.authority`).
Callers import from here (``from hub.store import HubStore``), not from the modules inside.
"""

from __future__ import annotations

from pathlib import Path

from hub.errors import StoreError
from hub.store.alerts import AlertRecords
from hub.store.audit_heads import AuditHeadRecords
from hub.store.collection import (
    COLLECTED_KINDS,
    ORPHAN_BLOB,
    PARTIAL_UPLOAD,
    CollectionRecords,
)
from hub.store.connection import Connection, Row
from hub.store.delivery_times import DeliveryTimeRecords
from hub.store.directory import DirectoryRecords
from hub.store.feeds import FeedRecords, FeedRow
from hub.store.keys import KeyRecords
from hub.store.mailboxes import MailboxRecords
from hub.store.numbering import NumberingRecords
from hub.store.offices import OfficeRecords
from hub.store.operators import OperatorRecords
from hub.store.portal_letters import PortalLetterRecords
from hub.store.portal_search import PortalSearchRecords
from hub.store.postgres import is_postgres, redacted
from hub.store.processes import ProcessRecords
from hub.store.quarantine import QuarantineRecords, stored_size
from hub.store.routes import RouteRecords
from hub.store.statistics import StatisticsRecords
from hub.store.sync_sessions import SyncSessionRecords
from hub.store.tokens import TokenRecords

__all__ = [
    "COLLECTED_KINDS",
    "ORPHAN_BLOB",
    "PARTIAL_UPLOAD",
    "FeedRow",
    "HubStore",
    "Row",
    "StoreError",
    "database_exists",
    "open_store",
    "shown",
    "stored_size",
]


class HubStore(
    OfficeRecords,
    KeyRecords,
    TokenRecords,
    FeedRecords,
    MailboxRecords,
    RouteRecords,
    QuarantineRecords,
    AlertRecords,
    CollectionRecords,
    NumberingRecords,
    DirectoryRecords,
    SyncSessionRecords,
    OperatorRecords,
    StatisticsRecords,
    DeliveryTimeRecords,
    AuditHeadRecords,
    PortalLetterRecords,
    PortalSearchRecords,
    ProcessRecords,
    Connection,
):
    """The hub's SQLite database behind a narrow, SQL-free interface."""


def database_exists(target: str | Path) -> bool:
    """Whether the hub's database is there: the SQLite file exists, or a PostgreSQL URL is
    set (opening it says whether it answers)."""
    return is_postgres(target) or Path(target).exists()


def shown(target: str | Path) -> str:
    """The hub's database as a message may name it (a URL without its password)."""
    return redacted(str(target)) if is_postgres(target) else str(target)


def open_store(path: str | Path, create: bool = True) -> HubStore:
    """Open the hub database at ``path``."""
    return HubStore.open(path, create)
