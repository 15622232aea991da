"""The office node: letters, registers, outbox, sync worker, local API and clerk pages.

The package map and the import rules are in docs/design.md; the app factory is
:func:`node.app.create_app`.
"""
