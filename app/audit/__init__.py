"""Auditing a county's log against the whole registry: verification, replay and export.

It reads every domain's tables, so it sits above them all; the ledger kernel (``app.ledger``) that every
domain writes through imports none of them.
"""
