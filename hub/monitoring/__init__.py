"""What the operator watches: every office's state, alerts with what to do, usage
statistics, and ``/metrics`` in the Prometheus format.

* :mod:`hub.monitoring.offices`: each office's state (healthy, late, silent...);
* :mod:`hub.monitoring.alerts`: what each alert means, and the alerts raised from the
  state of the federation;
* :mod:`hub.monitoring.metrics`: ``GET /metrics``;
* usage statistics: :mod:`hub.monitoring.usage_facts` (the facts recorded at routing, and
  their backfill), :mod:`hub.monitoring.periods` and :mod:`hub.monitoring.workdays` (the
  period a report covers, the working days it judges against),
  :mod:`hub.monitoring.usage` (the report the console shows) and
  :mod:`hub.monitoring.usage_export` (the report as plain tables for CSV and Excel);
* how long letters take from the moment their sender sent them:
  :mod:`hub.monitoring.timing_facts` (the times recorded at routing, and their backfill)
  and :mod:`hub.monitoring.timings` (median and 95th percentile to the hub, the inbox and
  ลงรับ, for the console, ``/metrics`` and other code).

May import: :mod:`hub.numbering`, :mod:`hub.directory`, :mod:`hub.store`, the base
modules and :mod:`protocol`. Never :mod:`hub.federation` (it records usage facts here
while it routes) and never the faces.
"""
