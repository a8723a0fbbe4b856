"""Import policy: which globals a pickle may name, read from import_policy.toml."""

from __future__ import annotations

import tomllib
from _compat_pickle import IMPORT_MAPPING, NAME_MAPPING
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from checks.findings import Severity

IMPORTS_TABLE = "import_policy.toml"  # the shipped allow/deny table, not a repository's policy
_CACHE_LIMIT = 65_536  # distinct globals remembered per policy; hostile files may name many
REPOSITORY_REASON = "allowed by the repository's policy"

RULES = {
    Severity.CRITICAL: "unsafe-import",
    Severity.HIGH: "unknown-import",
    Severity.MEDIUM: "metadata-import",
}


@dataclass(frozen=True)
class Verdict:
    severity: Severity
    category: str  # "allowed", "metadata", "unknown", or a danger class such as "process execution"
    reason: str
    name: str = ""  # the dotted path the verdict is about (the Python 3 spelling when mapped)

    @property
    def rule(self) -> str | None:
        """The finding rule for this verdict; None when the import needs no finding."""
        return RULES.get(self.severity)

    @property
    def message(self) -> str:
        if self.severity >= Severity.CRITICAL:
            return f"{self.name}: {self.reason} ({self.category})"
        return f"{self.name}: {self.reason}"


@dataclass(frozen=True)
class _Patterns:
    """Exact dotted paths plus "module.*" (one module) and "module.**" (a package) patterns."""

    exact: frozenset[str] = frozenset()
    modules: frozenset[str] = frozenset()
    packages: tuple[str, ...] = ()

    @classmethod
    def of(cls, entries: list[str]) -> _Patterns:
        exact = {e for e in entries if not e.endswith("*")}
        modules = {e[:-2] for e in entries if e.endswith(".*")}
        packages = tuple(e[:-3] for e in entries if e.endswith(".**"))
        return cls(frozenset(exact), frozenset(modules), packages)

    def match(self, module: str, name: str) -> bool:
        if f"{module}.{name}" in self.exact:
            return True
        if "." in name:  # a dotted name is allowed only when spelt out in full
            return False
        if module in self.modules:
            return True
        return any(module == p or module.startswith(p + ".") for p in self.packages)


@dataclass(frozen=True)
class _Danger:
    category: str
    reason: str


@dataclass(frozen=True)
class _Tables:
    allowed: _Patterns
    allowed_reason: str
    metadata: tuple[tuple[_Patterns, str], ...]
    prefixes: dict[str, _Danger]
    segments: dict[str, _Danger]
    serializers: _Serializers


@dataclass(frozen=True)
class _Serializers:
    """dill/cloudpickle and their copies: every global is critical, its helper says why."""

    category: str
    packages: tuple[str, ...]
    reason: str
    helpers: dict[str, str]
    data_helpers: frozenset[str]

    def danger(self, path: str) -> _Danger | None:
        """Why the global at dotted ``path`` is critical; None outside these packages."""
        package = next((p for p in self.packages if path.startswith(p + ".")), None)
        helper = path.rsplit(".", 1)[-1]
        if package is None or helper in self.data_helpers:
            return None
        what = self.helpers.get(helper, self.reason)
        return _Danger(
            self.category,
            f"{what}: a {package} stream carries Python code that runs when it is loaded",
        )


@cache
def _tables() -> _Tables:
    # Beside this module as package data; a plain path read keeps importlib.resources off start-up.
    raw = tomllib.loads(Path(__file__).with_name(IMPORTS_TABLE).read_text("utf-8"))
    return _parse(raw)


def _parse(raw: dict[str, Any]) -> _Tables:
    meta = raw["metadata"]
    metadata = [(_Patterns.of(meta["names"]), meta["reason"])]
    for sub in meta.values():
        if isinstance(sub, dict):
            metadata.append((_Patterns.of(sub["names"]), sub["reason"]))
    prefixes: dict[str, _Danger] = {}
    segments: dict[str, _Danger] = {}
    intro = raw["introspection"]
    for seg in intro["segments"]:
        segments[seg] = _Danger(intro["category"], intro["reason"])
    for group in raw["critical"]:
        danger = _Danger(group["category"], group["reason"])
        for prefix in group.get("prefixes", ()):
            prefixes.setdefault(prefix, danger)
        for seg in group.get("segments", ()):
            segments.setdefault(seg, danger)
    serial = raw["code_serializers"]
    serializers = _Serializers(
        serial["category"],
        tuple(serial["packages"]),
        serial["reason"],
        dict(serial["helpers"]),
        frozenset(serial["data_helpers"]),
    )
    return _Tables(
        serializers=serializers,
        allowed=_Patterns.of(raw["allowed"]["names"]),
        allowed_reason=raw["allowed"]["reason"],
        metadata=tuple(metadata),
        prefixes=prefixes,
        segments=segments,
    )


def _is_dunder(segment: str) -> bool:
    return len(segment) > 4 and segment.startswith("__") and segment.endswith("__")


def python3_name(module: str, name: str) -> tuple[str, str]:
    """What an unpickler loading an old-protocol pickle imports instead (pickle's own tables)."""
    mapped = NAME_MAPPING.get((module, name))
    if mapped is not None:
        return mapped
    return IMPORT_MAPPING.get(module, module), name


@dataclass
class ImportPolicy:
    """The default tables plus a repository's extra allowed imports; caches every verdict."""

    extra: _Patterns = field(default_factory=_Patterns)
    _cache: dict[tuple[str, str], Verdict] = field(default_factory=dict, repr=False)

    @classmethod
    def default(cls, extra_allowed: frozenset[str] = frozenset()) -> ImportPolicy:
        return cls(extra=_Patterns.of(sorted(extra_allowed)))

    def classify(self, module: str, name: str) -> Verdict:
        """Grade one global; old Python 2 spellings are graded as written and as mapped."""
        key = (module, name)
        verdict = self._cache.get(key)
        if verdict is None:
            verdict = self._classify_both(module, name)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = verdict
        return verdict

    def _classify_both(self, module: str, name: str) -> Verdict:
        raw = self._classify(module, name)
        mapped_module, mapped_name = python3_name(module, name)
        if (mapped_module, mapped_name) == (module, name):
            return raw
        mapped = self._classify(mapped_module, mapped_name)
        # A Python 2 spelling is "unknown" only because Python 3 renamed it: the mapped verdict
        # decides, unless the spelling as written is itself dangerous.
        if raw.severity >= Severity.CRITICAL and raw.severity > mapped.severity:
            return raw
        return mapped

    def _classify(self, module: str, name: str) -> Verdict:
        full = f"{module}.{name}"
        danger = _critical(module, name)
        if danger is not None:
            return Verdict(Severity.CRITICAL, danger.category, danger.reason, full)
        tables = _tables()
        if tables.allowed.match(module, name):
            return Verdict(Severity.INFO, "allowed", tables.allowed_reason, full)
        if self.extra.match(module, name):
            return Verdict(Severity.INFO, "allowed", REPOSITORY_REASON, full)
        for patterns, reason in tables.metadata:
            if patterns.match(module, name):
                return Verdict(Severity.MEDIUM, "metadata", reason, full)
        return Verdict(Severity.HIGH, "unknown", "not on the allowlist", full)


def _critical(module: str, name: str) -> _Danger | None:
    tables = _tables()
    segments = name.split(".")
    # The full path, then every tail of the name: getattr walks a dotted name through modules
    # that other modules import (('pathlib', 'os.system') is os.system).
    candidates = [f"{module}.{name}"] + [".".join(segments[i:]) for i in range(len(segments))]
    for candidate in candidates:
        serialized = tables.serializers.danger(candidate)
        if serialized is not None:
            return serialized
    for candidate in candidates:
        hit = _longest_prefix(candidate, tables.prefixes)
        if hit is not None:
            return hit
    for seg in segments:
        if _is_dunder(seg):
            return _Danger("introspection", f"reaches the special attribute {seg}")
        hit = tables.segments.get(seg)
        if hit is not None:
            return hit
    return None


def _longest_prefix(path: str, prefixes: dict[str, _Danger]) -> _Danger | None:
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        hit = prefixes.get(".".join(parts[:end]))
        if hit is not None:
            return hit
    return None
