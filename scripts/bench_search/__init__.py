"""`make bench-search`: Thai search over 1,000,000 letters (DESIGN.md §9: p95 ≤ 20 ms).

Builds, once, a node database file of ``--letters`` letters (default 1,000,000) through the
real schema and its search triggers, in ``bench-results/`` (reused by later runs while
its size matches; ``--rebuild`` makes it again). The letters are what a provincial hall
(ชม 0017) holds after ten years: sent and received letters with subjects composed from
office phrases, province, district and person names and numbers, bodies, numbers in the
project's formats (``ชม 0017.3/ว 456``, ``คำสั่งจังหวัดเชียงใหม่ ที่ 12/2569``, receipt
numbers per year), paper letters from outside bodies, classified ones, and text of
attached PDFs for some.

Then it runs, as an ordinary clerk (so every query carries the classified-letter
condition), query families and prints p50 / p95 / max in milliseconds for each:

- ``thai``: 200 subject queries: common and rare words, two-character words, several
  words, words found nowhere (the DESIGN target family);
- ``number``: 200 letter and receipt numbers typed in the ways clerks type them
  (``ชม0017.3/ว456``, ``ชม 0017.3/ว. 456``, Thai digits, ``ที่ ...``, a bare receipt
  number), each of which must list its letter on the first page, and one in ten a
  fragment without the province code (``0017.3/ว 456``), timed only;
- ``filtered``: 50 queries with filters (kind, speed, series, a Buddhist-era range), for
  information.

Results are also written to ``bench-results/search.json``.

The words letters are made of are in :mod:`~scripts.bench_search.vocabulary`; the letters
and the database in :mod:`~scripts.bench_search.corpus`; the query families and their
timing in :mod:`~scripts.bench_search.timing`; the command line and the report in
:mod:`scripts.bench_search.__main__`.
"""
