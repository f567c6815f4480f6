"""The two sides of an impact report: a regime and the parameters overridden for it.

Parsed from the command line (``us-ai-diffusion-2025:lpp_cap_tpp=7916000``)
and merged into the configuration before anything is decided, so a bad
override is a ConfigError naming the side (exit 2).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Iterator

import yaml

from ._exceptions import ConfigError
from ._plugins import Plugins
from ._regime import dates_as_text
from ._settings import Settings


@dataclass(frozen=True)
class Side:
    """One side of the comparison: a regime and the parameters overridden for it."""

    spec: str
    regime: str
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        if not self.overrides:
            return self.regime
        return f"{self.regime} with " + ", ".join(
            f"{k}={_show_value(v)}" for k, v in self.overrides.items())


def _show_value(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _split_top(text: str) -> Iterator[str]:
    """Split on commas outside brackets and braces (a value may be a YAML list or mapping)."""
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            yield text[start:i]
            start = i + 1
    yield text[start:]


def parse_side(spec: str) -> Side:
    """``REGIME`` or ``REGIME:NAME=VALUE,NAME=VALUE``; values are YAML scalars or flow values."""
    regime, sep, rest = spec.partition(":")
    regime = regime.strip()
    if not regime:
        raise ConfigError(f"{spec!r}: name a regime, then optional parameters "
                          "(REGIME:NAME=VALUE,...)")
    overrides: dict[str, Any] = {}
    if sep:
        for item in _split_top(rest):
            name, eq, raw = item.partition("=")
            name = name.strip()
            if not eq or not name or not raw.strip():
                raise ConfigError(f"{spec}: write each parameter as NAME=VALUE, got {item!r}")
            if name in overrides:
                raise ConfigError(f"{spec}: parameter {name} is given twice")
            try:
                overrides[name] = dates_as_text(yaml.safe_load(raw))
            except (yaml.YAMLError, ValueError) as exc:  # ValueError: a date like 2025-13-01
                raise ConfigError(f"{spec}: {name}: not a valid value ({exc})") from None
    return Side(spec=spec, regime=regime, overrides=overrides)


def side_settings(settings: Settings, side: Side, base: Plugins) -> Settings:
    """The configuration with the side's overrides merged into its ``parameters:``.

    The overrides are checked as the configuration's are, against the
    regime's parameter schema (`Regime.with_parameters`): a ConfigError
    names the side, the parameter and what is wrong (exit 2), before
    anything is decided.
    """
    regime = base.regime(side.regime)
    if not side.overrides:
        return settings
    try:
        regime.with_parameters(side.overrides)
    except ConfigError as exc:
        raise ConfigError(f"{side.spec}: {exc}") from None
    merged = {**settings.parameters}
    merged[side.regime] = {**merged.get(side.regime, {}), **side.overrides}
    return replace(settings, parameters=merged)
