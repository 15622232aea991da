"""The ``saraban`` command: parse arguments, call hub, node or a node's local API, print
one line or JSON. Every failure is one line on stderr and a non-zero exit.
"""
