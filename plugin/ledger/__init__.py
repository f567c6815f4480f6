"""The quota ledger: the logic every backend shares, SQLite, PostgreSQL, opening one by
URL, and the license registry kept in the same database.

Internal: the public names are in ``exportgate``.
"""
