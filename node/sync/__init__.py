"""The node's side of the federation: enrolment and the office's next key (``rekey``), the
hub client (the only user of
``requests``), one sync round trip (``worker``, with its steps in ``push``, ``pull`` and
``attachments``, and what it did in ``state``), the node's view of its own health and its
heartbeat (``health``), verifying what the hub hands over, rebuilding from the office's own
feed (replay, restore), publishing the office's accounts (``accounts_publish``) and the
scheduled jobs.

May import: :mod:`node.records` (to store what arrives), :mod:`node.search`,
:mod:`node.staff` (the accounts it publishes),
:mod:`node.storage`, the base modules and :mod:`protocol`. Never the faces.
"""
