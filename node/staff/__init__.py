"""The people of an office: local accounts of the clerk's pages, their roles and
passwords.

May import: :mod:`node.records` (roles and the viewer), :mod:`node.storage`, the base
modules and :mod:`protocol`. Never the faces.
"""
