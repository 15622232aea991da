"""The numbering authority: the ledger of every register's numbers, leases of shared
registers, finalising provisional numbers, and the nightly reconciliation report.

May import: :mod:`hub.directory`, :mod:`hub.store`, the base modules and
:mod:`protocol`. Never the faces.
"""
