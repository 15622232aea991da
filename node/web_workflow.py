"""The clerk's pages: the receiving workflow's forms on a letter's page (being written)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web_workflow", __name__)
