"""The ministry's correspondence portal (ADR 0024), served by the hub.

:mod:`hub.federation.letter_index` keeps a row and an index document of every letter the hub
accepts; :mod:`hub.portal.search` answers a search over them for one person's scope
(:mod:`hub.portal.query` reads what was typed).

The pages are a second Flask app in the hub process, on its own address
(:func:`hub.portal.app.create_portal_app`): :mod:`hub.portal.session` and
:mod:`hub.portal.signin` (server-side sessions, sign-in with the office's password and a
TOTP code), :mod:`hub.portal.access` (who sees what of a letter),
:mod:`hub.portal.tracking` and :mod:`hub.portal.waiting` (a letter's timeline; the letters
not registered in time), :mod:`hub.portal.entry`, :mod:`hub.portal.pages` and
:mod:`hub.portal.ministry` (the pages), :mod:`hub.portal.export` (Excel) and
:mod:`hub.portal.kit` (what every page shares).
"""
