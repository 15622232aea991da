"""The hub's side of the federation: enrollment, checking each request's signature, push
ingest (verify, sequence, store), routing to mailboxes, attachment blobs and the
quarantine of refused envelopes. The directory and the hub's keys are :mod:`hub.directory`.

May import: :mod:`hub.directory`, :mod:`hub.numbering`, :mod:`hub.monitoring` (facts
recorded at routing), :mod:`hub.store`, the base modules (config, errors, clock) and
:mod:`protocol`. Never the faces (:mod:`hub.api`, :mod:`hub.console`).
"""
