"""``auto_map`` in a config: the modules ``trust_remote_code=True`` would import, and from where."""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource
from checks.weights.context import ScanContext

REMOTE_CODE = "remote-code"
REMOTE_CODE_ELSEWHERE = "remote-code-elsewhere"


def scan_auto_map(source: ByteSource, ctx: ScanContext) -> None:
    """A finding naming each module auto_map makes transformers import; another repository's
    (``org/repo--module.Class``) is a finding of its own."""
    if source.size > ctx.limits.max_config_bytes:
        raise LimitExceeded(f"config of {source.size} bytes")
    try:
        config = json.loads(source.read_at(0, source.size).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return  # not JSON: the config's own checks say so
    auto_map = config.get("auto_map") if isinstance(config, dict) else None
    if not isinstance(auto_map, dict):
        return
    local: dict[str, list[str]] = {}
    for key, value in auto_map.items():
        for ref in _references(value):
            repo, sep, target = ref.rpartition("--")
            module = target.rsplit(".", 1)[0] if "." in target else target
            if sep and repo:
                ctx.report(
                    REMOTE_CODE_ELSEWHERE,
                    Severity.HIGH,
                    f"auto_map[{key!r}] makes trust_remote_code=True import {module}.py from "
                    f"another repository, {repo}: code this review cannot see",
                )
            else:
                local.setdefault(module, []).append(str(key))
    for module, keys in sorted(local.items()):
        # transformers fetches the module from the folder the config was read from. The link to
        # it is made after the whole contribution is scanned (checks.weights.links), relative
        # to the config so a cached scan stays true under another folder; a name that climbs
        # out of the repository is never looked up.
        file = f"{module}.py"
        extra = {} if ctx.trail or not _plain(module) else {"file": file}
        ctx.report(
            REMOTE_CODE,
            Severity.MEDIUM,
            f"auto_map ({', '.join(keys)}) makes trust_remote_code=True import {file} from "
            "this repository: that code runs on load",
            **extra,
        )


def _plain(module: str) -> bool:
    """A module path inside the repository: no absolute path, '..', drive or odd byte."""
    path = PurePosixPath(module)
    return (
        bool(module)
        and not path.is_absolute()
        and ".." not in path.parts
        and not set(module) & {"\\", "\0", ":"}
    )


def _references(value: Any) -> list[str]:
    """auto_map values are "module.Class" strings, or lists of them (slow and fast tokenizers)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []
