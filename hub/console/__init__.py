"""The operator's console in Thai (ADR 0011): sign-in, the overview, the federation view,
alerts and quarantine, enrollment, distribution lists, numbering and statistics.

A face: each page module reads a form, calls the domain (:mod:`hub.admin`,
:mod:`hub.federation`, :mod:`hub.numbering`, :mod:`hub.monitoring`) and renders a
template; :mod:`hub.console.kit` holds what every page uses (forms, Thai messages, the
menu) and :mod:`hub.console.session` the sign-in, sessions, CSRF and roles, as
:mod:`node.web.kit` and :mod:`node.web.session` do for a node. Operator accounts are
:mod:`hub.console.operators`. No SQL here.
"""
