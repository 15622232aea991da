"""The shared language of the Saraban hub and its office nodes.

Envelopes, typed messages, feed rules, request signing, letter numbers and Thai text.
This package is pure: it performs no network or database I/O and never imports Flask,
sqlite-utils, requests or APScheduler. Hub and node do the I/O around its decisions;
:mod:`protocol.workers` runs its pure functions in worker processes for them.
"""

PROTOCOL_VERSION = 1
