"""The node's local JSON API (``/api/...``) for the command line, the demo and scripts.

A face, and thin: each endpoint reads its input, calls the domain (:mod:`node.records`,
:mod:`node.keeping`, :mod:`node.search`, :mod:`node.printing`, :mod:`node.sync`) and
answers JSON. No SQL here. Errors are rendered once, in :mod:`node.app`.
"""
