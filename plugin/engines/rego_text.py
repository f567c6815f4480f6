"""What the engines read from a Rego module's text before any engine parses it.

An engine compiles a regime's modules under their package path, and runs the
``test_`` rules of its test modules by name; a bundle files each module under
its package. These read both from the source text alone, so that every engine
(and the bundle writer) finds them the same way.
"""
from __future__ import annotations

import re

_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.M)
_TEST_RULE = re.compile(r"^(test_[A-Za-z0-9_]+)\b", re.M)


def test_rule_names(source: str) -> list[str]:
    """The ``test_`` rules declared at the top level of a Rego test module."""
    return sorted(set(_TEST_RULE.findall(source)))


def package_of(source: str) -> str:
    """The module's package (``exportgate.regimes.x``); ValueError if it has no package line."""
    m = _PACKAGE.search(source)
    if not m:
        raise ValueError("no package line")
    return m.group(1)
