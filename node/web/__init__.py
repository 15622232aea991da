"""The clerk's web pages in Thai, rendered on the server (ADR 0010).

A face, and thin: each page module reads a form, calls the domain and renders a
template; :mod:`node.web.kit` holds what every page uses and :mod:`node.web.session`
the sign-in, sessions and CSRF. No SQL here. Templates and static files live in
``node/templates`` and ``node/static``.
"""
