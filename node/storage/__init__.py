"""The node's storage: the SQLite database and its schema, the one writer path, the
office's own feed (its outbox), the old-backup guard (high-water marks), the hash-chained
audit log and attachment bytes by SHA-256.

May import: the base modules (:mod:`node.errors`) and :mod:`protocol` only; the domain
calls storage, never the other way round.
"""
