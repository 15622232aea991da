"""The fault-injection harness: a proxy that breaks a node's link to the hub, and a
federation of real processes behind such proxies.

:mod:`scripts.faults.proxy` is the fault-injecting TCP proxy (seeded, replayable, every
fault logged by kind); :mod:`scripts.faults.federation` starts a hub and nodes as separate
``saraban ... serve`` processes, each node reaching the hub through its own proxy, with
crash points (:mod:`protocol.crashpoints`) armed per process. ``tests/faults/`` and
``make soak`` (:mod:`scripts.soak`) use both; :mod:`scripts.invariants` judges the result.
"""
