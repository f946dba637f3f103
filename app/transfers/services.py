"""The transfers' services, one module per concern; routes and other packages call them from here.

- :mod:`app.transfers.opening`: open a transfer, exchange, lease, share-in or exit, with its checks.
- :mod:`app.transfers.lifecycle`: the issuer's answer, payments, withdrawal, completion.
- :mod:`app.transfers.voiding`: void a transfer an award found made under duress.
- :mod:`app.transfers.settlements`: record a settlement in a city, which changes nothing.
- :mod:`app.transfers.views`: a transfer and a page of them as the API shows them.
- :mod:`app.transfers.contracts`: a lease's or share-in's written contract (第四十条), its clauses and print.
- :mod:`app.transfers.registration`: the management rights they create, and registering one (第四十一条).
- :mod:`app.transfers.rules`: rules about one transfer, as plain functions.

The guarantee (docs/rules.md §0): recording a settlement changes, restricts and flags nothing; no transfer or
exit may carry any link to a settlement; every one carries the holder's own signed, voluntary consent and
is paid. Rights move only when a transfer the holder signed is completed.
"""
from __future__ import annotations

from app.transfers.contracts import contract_pdf
from app.transfers.lifecycle import (
    TransferPolicy,
    add_payment,
    complete_transfer,
    decide_issuer_consent,
    withdraw_transfer,
)
from app.transfers.opening import LAWFUL_KINDS, TRANSFER_WRITERS, create_transfer
from app.transfers.registration import get_management_right, register_management_right, registration_pdf
from app.transfers.settlements import get_settlement, list_settlements, record_settlement, settlement_view
from app.transfers.views import get_transfer, list_transfers, transfer_view
from app.transfers.voiding import void_transfer

__all__ = ["LAWFUL_KINDS", "TRANSFER_WRITERS", "TransferPolicy", "add_payment", "complete_transfer", "contract_pdf",
           "create_transfer", "decide_issuer_consent", "get_management_right", "get_settlement", "get_transfer",
           "list_settlements", "list_transfers", "record_settlement", "register_management_right", "registration_pdf",
           "settlement_view", "transfer_view", "void_transfer", "withdraw_transfer"]
