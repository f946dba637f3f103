"""A case's state as its ledger entries record it (app/disputes/models.py), without a database."""
from __future__ import annotations

from app.disputes.models import dispute_state


def test_a_cases_state_is_what_its_entries_record():
    state = dispute_state(status="accepted", events={"received": "2026-03-02", "accepted": "2026-03-04"},
                          extension_days=0, freeze=True, record=None)
    assert list(state["events"]) == ["accepted", "received"]  # sorted, as canonical JSON keys are
    assert state["record_sha256"] == dispute_state(status="x", events={}, extension_days=0, freeze=False,
                                                   record={})["record_sha256"]  # no record hashes as {}
