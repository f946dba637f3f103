"""The rural property exchange desk (农村产权交易): listings, their announcement, bids, members' priority and
the award that opens a transfer (docs/rules.md §6). It sits above transfers, whose workflow an award runs,
and below disputes."""
