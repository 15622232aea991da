"""Operator actions on a hub instance, for the command line, the console and the tests.

Each module holds one concept:

* :mod:`hub.admin.access`: how an action reaches an instance (:func:`open_hub`, the
  caller's ``store``, ``now``) and how it refuses (:class:`AdminRefused`);
* :mod:`hub.admin.instance`: creating a hub (:func:`init_hub`, :func:`seed_data`) and
  rotating its signing key (:func:`rotate_hub_key`);
* :mod:`hub.admin.offices`: adding, revoking and listing offices, and shared registers;
* :mod:`hub.admin.tokens`: enrollment tokens (issue, list with their state, cancel);
* :mod:`hub.admin.lists`: distribution lists, by hand and derived from the offices;
* :mod:`hub.admin.reports`: read-outs for the command line (numbering report, alerts,
  quarantine).

Each change that other offices must learn about (an office added or revoked, a shared
register, a distribution list, a hub key rotation) signs a new directory version in the
same transaction as the change.

The public names are re-exported here so that ``from hub.admin import init_hub`` works
from a shell; the project's own code imports from the module that holds the concept. The
office list is re-exported as :func:`list_offices` only: ``hub.admin.offices`` is the
module. Nothing here prints or parses arguments: ``scripts/`` does that.
"""

from hub.admin.access import AdminRefused, Instance, open_hub
from hub.admin.instance import init_hub, rotate_hub_key, seed_data
from hub.admin.lists import (
    ALL_LIST,
    GROUP_LIST_RE,
    LIST_NAME_RE,
    MAX_LIST_TITLE,
    PILOT_LIST,
    RESERVED_LIST_NAMES,
    delete_list,
    distribution_lists,
    is_derived_list,
    save_list,
)
from hub.admin.offices import (
    GROUP_COUNT,
    MAX_OFFICE_NAME,
    MAX_PROVINCE,
    add_office,
    add_shared_register,
    list_offices,
    revoke_office,
)
from hub.admin.reports import list_alerts, list_quarantine, numbering_report
from hub.admin.tokens import (
    TOKEN_ID_LENGTH,
    TOKEN_ID_RE,
    TOKEN_STATES,
    cancel_enrollment_token,
    enrollment_tokens,
    issue_enrollment_token,
    token_id,
)

__all__ = [
    "ALL_LIST",
    "GROUP_COUNT",
    "GROUP_LIST_RE",
    "LIST_NAME_RE",
    "MAX_LIST_TITLE",
    "MAX_OFFICE_NAME",
    "MAX_PROVINCE",
    "PILOT_LIST",
    "RESERVED_LIST_NAMES",
    "TOKEN_ID_LENGTH",
    "TOKEN_ID_RE",
    "TOKEN_STATES",
    "AdminRefused",
    "Instance",
    "add_office",
    "add_shared_register",
    "cancel_enrollment_token",
    "delete_list",
    "distribution_lists",
    "enrollment_tokens",
    "init_hub",
    "is_derived_list",
    "issue_enrollment_token",
    "list_alerts",
    "list_offices",
    "list_quarantine",
    "numbering_report",
    "open_hub",
    "revoke_office",
    "rotate_hub_key",
    "save_list",
    "seed_data",
    "token_id",
]
