"""The people of an office: local accounts of the clerk's pages, their roles and
passwords (``accounts``), their second factor for the ministry's portal
(``second_factor``), and what the office publishes of them to the hub (``published``).

May import: :mod:`node.records` (roles and the viewer), :mod:`node.storage`, the base
modules and :mod:`protocol`. Never the faces.
"""
