"""The Saraban hub: sync API, store, ingest, routing and numbering authority.

Public entry points: :func:`hub.app.create_app` and the operator functions of
:mod:`hub.admin` (``init_hub``, ``issue_enrollment_token``, ``add_office``...).
"""

__version__ = "0.1.0"
