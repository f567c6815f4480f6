"""The Tryton tests: the exportgate Tryton module on a real Tryton server (SQLite).

trytond itself still calls APIs it deprecates; those warnings (and only
those, from trytond's own modules) are not errors here. Run alone with
``pytest -m tryton``.
"""
from __future__ import annotations

import os
import warnings

import pytest

os.environ.setdefault("TRYTOND_DATABASE_URI", "sqlite://")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import trytond.tests.test_tryton  # noqa: F401  (imports trytond.wsgi and its protocols)

TRYTOND_DEPRECATIONS = pytest.mark.filterwarnings("ignore::DeprecationWarning:trytond")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.tryton)
            item.add_marker(TRYTOND_DEPRECATIONS)
