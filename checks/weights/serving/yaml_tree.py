"""Read a small YAML config safely (no tags, bounded) and walk its mappings once each."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource

MAX_NODES = 200_000  # anchors can make a small file name one mapping many times: each is seen once


class NotYaml(Exception):
    """The bytes are not a YAML document the loader could read either."""


def load_yaml(source: ByteSource, max_bytes: int) -> Any:
    import yaml  # type: ignore[import-untyped]  # only when a serving config is met

    if source.size > max_bytes:
        raise LimitExceeded(f"YAML config of {source.size} bytes")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(source.read_at(0, source.size), Loader=loader)  # noqa: S506 (safe loader)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise NotYaml(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


def mappings(tree: Any, path: str = "") -> Iterator[tuple[str, dict[Any, Any]]]:
    """Every mapping in the document with its dotted key path, each object once."""
    seen: set[int] = set()
    stack: list[tuple[str, Any]] = [(path, tree)]
    while stack:
        where, node = stack.pop()
        if not isinstance(node, dict | list) or id(node) in seen:
            continue
        seen.add(id(node))
        if len(seen) > MAX_NODES:
            raise LimitExceeded(f"YAML config with more than {MAX_NODES} mappings and lists")
        if isinstance(node, dict):
            yield where, node
            items = [(f"{where}.{k}" if where else str(k), v) for k, v in node.items()]
        else:
            items = [(f"{where}[{i}]", v) for i, v in enumerate(node)]
        stack.extend(reversed(items))
