"""Holds and freezes, one owner for what stops a right or a parcel from moving.

Transfers hold what they would move while they are open (``RIGHT_BUSY``), disputes freeze what they are
about (``RIGHT_IN_DISPUTE``); rights, transfers, disputes (and the exchange desk) ask here. It sits below
them all and above the rights it names only by their codes.
"""
