"""A bounded YAML loader for every YAML file Offtake reads (scenario.yaml, sweep grids, agent config).

PyYAML's ``safe_load`` only refuses arbitrary Python objects.  It still builds whatever
the text describes, so a hostile or mistaken file can exhaust the machine:

* **deep nesting** (``[[[[...]]]]`` 100,000 deep) ends in a RecursionError in the composer;
* **alias bombs** (``a: &a [x, x]``, ``b: &b [*a, *a]``, ...) describe 2^n values in n lines;
  the loader shares them, but the first code that walks the data (validation, printing)
  expands them (4.7 GB before it was killed, in a test of the old loader);
* **duplicate keys** silently keep the last value;
* **huge files** are read whole.

:func:`load_yaml` refuses each with an :class:`~offtake.errors.InputError` naming the
file and line: nesting deeper than ``max_depth`` levels, any alias (``*name``; anchors
alone are harmless, but a configuration never needs to repeat itself this way), a key
given twice in one mapping, and files larger than ``max_bytes``.  Numbers, strings,
booleans, dates and null load as with ``safe_load``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node

from offtake.errors import InputError

MAX_BYTES = 1_000_000  # 1 MB: a scenario.yaml is about 1 kB, a sweep grid a few kB
MAX_DEPTH = 32  # nesting levels of mappings and lists


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader with a depth cap, no aliases and an error on duplicate keys."""

    max_depth = MAX_DEPTH
    file_label = "<yaml>"

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def _fail(self, rule: str, node_or_mark: Any) -> InputError:
        mark = getattr(node_or_mark, "start_mark", node_or_mark)
        line = f", line {mark.line + 1}" if mark is not None else ""
        return InputError(f"{self.file_label}{line}: {rule}")

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise self._fail(f"YAML alias '*{event.anchor}' is not allowed (write the value out in full)", event)
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                raise self._fail(f"nested more than {self.max_depth} levels deep", self.peek_event())
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:  # type: ignore[override]
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self._fail("YAML merge keys ('<<') are not allowed", key_node)
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise self._fail("a mapping key must be a plain value, not a list or mapping", key_node) from None
            if key in seen:
                raise self._fail(f"duplicate key {key!r} (first given on line {seen[key]}); give each key once",
                                 key_node)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def load_yaml_text(text: str, file: str = "<yaml>", max_depth: int = MAX_DEPTH) -> Any:
    """Parse YAML text with the bounds above; ``file`` names the source in messages."""
    loader_cls = type("_Loader", (_BoundedLoader,), {"file_label": file, "max_depth": max_depth})
    loader = loader_cls(text)
    try:
        return loader.get_single_data()
    except InputError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise InputError(f"{file}{line}: not valid YAML: {what}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{file}: not valid YAML: {exc}") from None
    except RecursionError:  # defence in depth; the depth cap should come first
        raise InputError(f"{file}: nested too deeply") from None
    finally:
        loader.dispose()


def load_yaml(path: str | os.PathLike[str], max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
              label: str | None = None) -> Any:
    """Read and parse a YAML file with the bounds above (size checked before reading)."""
    p = Path(path)
    name = label or p.name
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise InputError(f"{name}: file is {size:,} bytes; YAML files above {max_bytes:,} bytes are refused")
        with open(p, "rb") as fh:
            raw = fh.read(max_bytes + 1)  # a file growing while we read is still bounded
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise InputError(f"{name}: file is larger than {max_bytes:,} bytes; refused")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    return load_yaml_text(text, name, max_depth=max_depth)


__all__ = ["MAX_BYTES", "MAX_DEPTH", "load_yaml", "load_yaml_text"]
