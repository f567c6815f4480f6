"""YAML (and JSON) files with limits: size, nesting depth, alias expansion, repeated keys.

Configuration, catalogs, party masters, column mappings and license files
are YAML, or JSON. PyYAML's safe loader builds whatever the file describes: a
"billion laughs" file of a few hundred bytes expands, through anchors and
aliases, into a document that takes minutes and gigabytes to walk; a deeply
nested file exhausts Python's recursion; an alias to its own anchor makes a
cycle; a key written twice silently keeps the second value. Each is refused
here, before anything walks the document, with a `ConfigError` naming the
file:

- the file is at most `MAX_BYTES`;
- nesting is at most `MAX_DEPTH` collections deep;
- aliases may add at most `MAX_ALIAS_EXPANSION` nodes to the document as
  written, and may not refer to a collection that contains them;
- a mapping names each key once (a merge ``<<`` still lets its own keys
  override): which of two values was meant is unknown, so the error names
  the key's path and both lines.

A file named ``*.json`` is read by the strict JSON reader (`_json`), which
refuses the same repetition, NaN and numbers too large for a float.

YAML is read by libyaml's C parser where PyYAML was built with it (about ten
times faster than its Python parser), else by the Python one; both give the
same documents and the same refusals. The Python loader counts depth while it
composes; with the C loader the node graph is composed first and its depth
checked before anything else walks it, and libyaml (0.2.5 on) stops at 1,000
levels itself, so its composer's recursion is bounded: an older libyaml is
not used. A text the C loader refuses is read again by the Python loader,
so messages do not depend on which is installed.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _json
from ._exceptions import ConfigError

if TYPE_CHECKING:
    import yaml

MAX_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIAS_EXPANSION = 100_000


class _Refused(Exception):
    pass


@functools.cache
def _python_loader() -> Any:
    """The safe loader, counting depth while it composes (PyYAML is imported on first use:
    a start whose YAML all comes from the start-up cache never loads it)."""
    import yaml

    class LimitedLoader(yaml.SafeLoader):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self._depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                return super().compose_node(parent, index)
            self._depth += 1
            try:
                if self._depth > MAX_DEPTH:
                    mark = self.peek_event().start_mark
                    raise _Refused(f"nested more than {MAX_DEPTH} levels deep "
                                   f"(line {mark.line + 1})")
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

    return LimitedLoader


def _libyaml() -> Any:
    """PyYAML's C loader if it has one whose libyaml bounds nesting (0.2.5 on), else None."""
    import yaml
    loader = getattr(yaml, "CSafeLoader", None)
    try:
        from yaml import _yaml as libyaml
        usable = tuple(libyaml.get_version()) >= (0, 2, 5)
    except (ImportError, AttributeError, TypeError):
        return None
    return loader if usable else None


#: The C loader (None: the Python loader only); looked for on first use (`c_loader`).
#: Tests set it to None to read with the Python loader.
C_LOADER: Any = ...


def c_loader() -> Any:
    """The C loader used when present, else None."""
    global C_LOADER
    if C_LOADER is ...:
        C_LOADER = _libyaml()
    return C_LOADER


def _check_depth(root: yaml.Node) -> None:
    """Refuse a composed document nested more than `MAX_DEPTH` collections deep.

    Depth is counted where each collection is written, as the Python loader
    counts it while composing: walked in document order, a node is entered
    once (at its anchor), never again through an alias, so a loop ends.
    """
    import yaml
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen or not isinstance(node, yaml.CollectionNode):
            continue
        seen.add(id(node))
        if depth > MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} levels deep "
                           f"(line {node.start_mark.line + 1})")
        children = (list(node.value) if isinstance(node, yaml.SequenceNode)
                    else [part for pair in node.value for part in pair])
        stack.extend((child, depth + 1) for child in reversed(children))


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a node graph whose aliases expand too far or loop (one pass, memoised)."""
    import yaml
    size: dict[int, int] = {}
    distinct: set[int] = set()
    active: set[int] = set()

    def children(node: yaml.Node) -> list[yaml.Node]:
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        if isinstance(node, yaml.MappingNode):
            return [part for pair in node.value for part in pair]
        return []

    # iterative post-order walk: (node, expanded?)
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children(node))
            if size[key] - len(distinct) > MAX_ALIAS_EXPANSION:
                raise _Refused(f"its aliases expand to more than {MAX_ALIAS_EXPANSION:,} "
                               "extra nodes (an alias bomb?)")
            continue
        if key in size:
            continue
        if key in active:
            raise _Refused("an alias refers to a collection that contains it")
        active.add(key)
        distinct.add(key)
        stack.append((node, True))
        for child in children(node):
            if id(child) in active:
                raise _Refused("an alias refers to a collection that contains it")
            if id(child) not in size:
                stack.append((child, False))


_MERGE = "tag:yaml.org,2002:merge"


def _check_keys(loader: Any, root: yaml.Node) -> None:
    """Refuse a mapping that names a key twice: its path and both lines (document order).

    Keys are compared as they read (``1`` and ``0x1`` are one key); an alias
    is walked once. Runs after `_check_expansion`, so the graph has no cycle.
    """
    import yaml
    walked: set[int] = set()
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if id(node) in walked:
            continue
        walked.add(id(node))
        children: list[tuple[yaml.Node, str]] = []
        if isinstance(node, yaml.SequenceNode):
            children = [(child, f"{path}[{i}]") for i, child in enumerate(node.value)]
        elif isinstance(node, yaml.MappingNode):
            first: dict[Any, int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE:
                    children.append((value_node, path))
                    continue
                key = (loader.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode)
                       else object())  # a collection as a key: the constructor refuses it
                where = f"{path}.{key}" if path else str(key)
                line = key_node.start_mark.line + 1
                if key in first:
                    raise _Refused(f'duplicate key "{key}" at {where} (line {line}; first at '
                                   f"line {first[key]}): which value was meant is unknown")
                first[key] = line
                children.append((value_node, where))
        stack.extend(reversed(children))


def too_deep(value: Any, limit: int) -> bool:
    """True when ``value`` nests more than ``limit`` arrays/objects deep (walked iteratively)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        if depth > limit:
            return True
        stack.extend((v, depth + 1) for v in item if isinstance(v, (dict, list)))
    return False


def loads_json(text: str, what: str) -> Any:
    """Parse JSON text strictly (`_json`) within the limits; ConfigError naming ``what``."""
    if len(text) > MAX_BYTES:
        raise ConfigError(f"{what}: larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        doc = _json.loads(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{what}: not valid JSON at line {exc.lineno} column {exc.colno} "
                          f"({exc.msg})") from None
    except RecursionError:
        raise ConfigError(f"{what}: refused: nested more than {MAX_DEPTH} levels deep") \
            from None
    except ValueError as exc:  # a repeated key, NaN, 1e400, an integer of 5000 digits
        raise ConfigError(f"{what}: refused: {str(exc)[:200]}") from None
    if too_deep(doc, MAX_DEPTH):
        raise ConfigError(f"{what}: refused: nested more than {MAX_DEPTH} levels deep")
    return doc


def loads(text: str, what: str) -> Any:
    """Parse YAML text within the limits; ConfigError naming ``what`` otherwise.

    The C loader reads it when present; a text it refuses for any reason is
    read again by the Python loader, whose refusal (or reading) stands, so
    every message is the same whichever loader is installed.
    """
    if len(text) > MAX_BYTES:
        raise ConfigError(f"{what}: larger than {MAX_BYTES // (1024 * 1024)} MiB")
    import yaml
    fast = c_loader()
    if fast is not None:
        try:
            return _document(fast(text))
        except (_Refused, yaml.YAMLError, RecursionError, MemoryError, ValueError):
            pass
    try:
        return _document(_python_loader()(text))
    except _Refused as exc:
        raise ConfigError(f"{what}: refused: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what}: not valid YAML ({exc})") from None
    except (RecursionError, MemoryError):
        raise ConfigError(f"{what}: refused: too deeply nested or too large") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise ConfigError(f"{what}: a value cannot be read ({str(exc)[:120]})") from None


def _document(loader: Any) -> Any:
    """Compose, check (depth, aliases, repeated keys), then construct the one document."""
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if not isinstance(loader, _python_loader()):  # which counted depth as it composed
            _check_depth(node)
        _check_expansion(node)
        _check_keys(loader, node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load(path: Path, what: str) -> Any:
    """Read a YAML (or JSON) file within the limits; a missing or bad file is a ConfigError.

    A ``*.json`` file is read as JSON, strictly; any other as YAML.
    """
    return parse(read(path, what), path, what)


def parse(text: str, path: Path, what: str) -> Any:
    """The document of ``text``, read from ``path``: JSON for ``*.json``, else YAML."""
    if path.suffix.lower() == ".json":
        return loads_json(text, f"{what} {path}")
    return loads(text, f"{what} {path}")


def read(path: Path, what: str) -> str:
    """The text of a YAML or JSON file, within the size limit; ConfigError naming it.

    For a caller that keys a cache on the text before parsing it (`parse`).
    """
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ConfigError(f"{what} {path}: larger than {MAX_BYTES // (1024 * 1024)} MiB")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {path}: not UTF-8 text") from None
    return text
