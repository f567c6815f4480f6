"""Fixtures of the adapter tests: the examples' configuration and its plugins."""
from __future__ import annotations

import erp_examples
import pytest
from exportgate import Adapter, Settings
from exportgate._plugins import Plugins


@pytest.fixture(scope="session")
def settings() -> Settings:
    return erp_examples.example_settings()


@pytest.fixture(scope="session")
def plugins(settings: Settings) -> Plugins:
    return Plugins(settings, entry_points=False)


@pytest.fixture(scope="session")
def registered(plugins: Plugins) -> dict[str, Adapter]:
    """The registered adapters by name, under the examples' configuration."""
    return plugins.adapters
