"""Keeping letters after their work is done: จัดเก็บ with a retention class, borrowing
(การยืม), the yearly destruction list with its committee, and the 20-year list for the
National Archives.

May import: :mod:`node.records`, :mod:`node.printing`, :mod:`node.storage`, the base
modules and :mod:`protocol`. Never the faces.
"""
