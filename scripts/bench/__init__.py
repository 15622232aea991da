"""`make bench` (``python -m scripts.bench``): the performance targets of issue 12 and
docs/design.md §11, measured on this machine with real processes over real HTTP.

One module per family of figures, each measuring against a limit taken in the same run
where one applies:

- :mod:`scripts.bench.signatures`: envelope sign / verify against raw Ed25519;
- :mod:`scripts.bench.ingest`: pushes to a real hub process against parse + verify × cores;
- :mod:`scripts.bench.delivery`: one office to another node, and 18 offices to one;
- :mod:`scripts.bench.latency`: one letter at a time from a node's API to another's inbox;
- :mod:`scripts.bench.catchup`: a node back after a week offline, 100,000 letters waiting;
- :mod:`scripts.bench.storm`: 1,000 offices reconnecting at once;
- :mod:`scripts.bench.idle`: the resident memory of an idle node.

:mod:`scripts.bench.figures` names every figure and its target and writes
``bench-results.json``; :mod:`scripts.bench.plan` holds the sizes; the processes are
:mod:`scripts.bench.federation`, the offices simulated in the bench process
:mod:`scripts.bench.traffic`.

Does not: tune any setting of the hub or the nodes (every process runs with its defaults),
or keep anything between runs.
"""
