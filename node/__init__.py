"""The office node: letters, registers, outbox, sync worker and local API."""

from .app import create_app

__all__ = ["create_app"]
