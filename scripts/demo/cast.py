"""Who plays which part in the demo's working day, and the day's fixed figures.

สป.มท. (มท 0200) sends and owns the shared circular register; นครสวรรค์ loses its link
for the morning, with leases so small that it runs out; เชียงใหม่ registers the paper
letter and prints its registers; สงขลา misaddresses a letter that ภูเก็ต returns; six
centres answer the circular. The offices themselves come from the hub's seed list.

Does not: start anything or act (:mod:`scripts.demo.federation`, :mod:`scripts.demo.day`).
"""

from __future__ import annotations

CENTRAL = "มท 0200"
OFFLINE = "นว 0017"
PAPER = "ชม 0017"
MISADDRESSING = ("สข 0017", "ภก 0017")
ANSWERING = ("ชม 0017", "ขก 0017", "อด 0017", "สฎ 0017", "ชบ 0017", "พล 0017")
NEIGHBOURS = ("พล 0017", "ชร 0017", "ชม 0017")
SHARED = (CENTRAL, "ว")
OFFLINE_LEASE_SIZE = 2
DEMO_CLERK = "demo-clerk"
DEMO_OPERATOR = "demo-operator"
MAX_QUIET_ROUNDS = 8
