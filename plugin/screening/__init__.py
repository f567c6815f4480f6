"""Restricted-party screening: every party of an order against the screening lists.

The room's parts: `model` (entries, versions, hits), `lists` (the
Consolidated Screening List's CSV and JSON downloads, read whole or refused),
`normalise` (names as the index compares them), `index` (the matcher, built
once per list version), `store` (versions and clearances in the ledger's
database) and `screener` (the step of `Gate.prepare` that adds what the index
finds to each party's ``restrictions``); the regimes decide what a hit means.
"""
