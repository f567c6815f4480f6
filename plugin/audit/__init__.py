"""The decision log: hash-chained (optionally keyed) JSON lines, appended before a
check's reservation commits, and its verification.

Internal: the public names are in ``exportgate``.
"""
