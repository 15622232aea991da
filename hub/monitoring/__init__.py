"""What the operator watches: every office's state, alerts with what to do, usage
statistics, and ``/metrics`` in the Prometheus format.

May import: :mod:`hub.federation`, :mod:`hub.numbering`, :mod:`hub.store`, the base
modules and :mod:`protocol`. Never the console.
"""
