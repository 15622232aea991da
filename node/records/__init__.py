"""The records of an office's correspondence: the domain of the clerk's work.

Letters and their recipients, drafts, sending (ออกเลข and ส่ง), receiving (ลงรับ, ส่งคืน,
paper letters), the numbering registers (and the shared ones' leases) and units, the
receiving workflow, the home page's work lists, who may see what (access) and the node's
copy of the directory.

May import: :mod:`node.search` (the text of attached PDFs), :mod:`node.storage`, the
node's base modules (context, config, errors) and :mod:`protocol`. Never the faces
(:mod:`node.web`, :mod:`node.api`), :mod:`node.sync` or the other domain packages.
"""
