"""Letter search (ค้นหาหนังสือ): the query a clerk types, how it becomes SQL over the FTS5
index, running it with what the viewer may see, and the text of attached PDFs.

May import: :mod:`node.records` (access and workflow states), :mod:`node.storage`, the
base modules and :mod:`protocol`. Never the faces.
"""
