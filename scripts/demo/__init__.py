"""`saraban demo`: a real hub and 19 real nodes on this machine playing a working day.

สป.มท. (มท 0200) and the 18 provincial-group centres each run a node process; the hub
runs as its own process. The day:

1. every office enrolls with a one-time token and takes its first lease of the shared
   circular register;
2. นครสวรรค์'s link goes down for the morning;
3. สป.มท. sends a ด่วนที่สุด circular with a PDF attachment to the 18 centres;
4. สป.มท. issues an order (คำสั่ง) to the centres from the command line; the centres that
   are online register what came (ลงรับ); several answer with numbered letters;
   เชียงใหม่'s clerk registers a paper letter with its scan, the governor minutes it
   (เกษียน) and it is assigned to a division, all with `saraban letter ...`; สงขลา sends a
   letter to ภูเก็ต by mistake and ภูเก็ต returns it with a reason; สป.มท. and ขอนแก่น send
   เชียงใหม่ a ลับ and a ลับมาก letter with attachments, sealed, which its classified
   registrar opens and registers (:mod:`~scripts.demo.classified`);
5. นครสวรรค์, offline, keeps working: answers the circular, registers a paper letter and
   issues circulars to its neighbours until its lease runs out and it issues a
   provisional number;
6. at noon the link returns: นครสวรรค์ catches up, the hub finalises its provisional number;
7. everyone syncs until the federation is quiet; เชียงใหม่ prints its receipt register
   (PDF) and exports its sending register (Excel) into the work folder; the demo reads
   every store and checks DESIGN.md's invariants 1–4, and searches the hub's files for
   the classified letters' plaintext and keys (invariant 6).

Who plays which part is in :mod:`~scripts.demo.cast`; starting and stopping the processes
and the clerks' hands on them in :mod:`~scripts.demo.federation`; the day's scenes in
:mod:`~scripts.demo.day`; what the day achieved, judged and printed, in
:mod:`~scripts.demo.summary`; the command itself (:func:`run_demo`) in
:mod:`~scripts.demo.run`.
"""

from __future__ import annotations

from scripts.demo.run import run_demo

__all__ = ["run_demo"]
