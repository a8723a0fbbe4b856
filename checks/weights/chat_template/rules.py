"""What the chat-template check looks for: the rule ids, the bounds, the names that reach Python."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

ESCAPE = "chat-template-escape"
UNPARSABLE = "chat-template-unparsable"
CONFIG_INVALID = "tokenizer-config-invalid"
MAX_REPORTED = 10  # per template and severity
MAX_FOLDED = 4096  # longest string we rebuild from literals
MAX_PASSES = 5  # rounds of taint propagation through assignments

# Dunders that open the path from a template object to the interpreter; special tokens named
# exactly like these arrive in templates as variables, ready to be used as keys.
DANGEROUS_DUNDERS = frozenset(
    [
        "__class__",
        "__mro__",
        "__subclasses__",
        "__globals__",
        "__builtins__",
        "__import__",
        "__init__",
        "__base__",
        "__bases__",
        "__dict__",
        "__getattribute__",
        "__code__",
        "__func__",
        "__self__",
        "__module__",
        "__loader__",
        "__spec__",
        "__reduce__",
        "__reduce_ex__",
        "__getitem__",
        "__call__",
    ]
)

# Filters that read attributes by name: which argument carries that name.
ATTR_ARGS: dict[str, tuple[int | None, str | None]] = {
    "attr": (0, None),
    "selectattr": (0, None),
    "rejectattr": (0, None),
    "groupby": (0, "attribute"),
    "sum": (0, "attribute"),
    "sort": (2, "attribute"),
    "unique": (1, "attribute"),
    "min": (1, "attribute"),
    "max": (1, "attribute"),
    "map": (None, "attribute"),
}
STRING_FILTERS = frozenset(
    [
        "join",
        "format",
        "replace",
        "string",
        "lower",
        "upper",
        "reverse",
        "trim",
        "center",
        "title",
        "capitalize",
        "striptags",
        "truncate",
        "wordwrap",
        "indent",
        "first",
        "last",
        "urlencode",
    ]
)
STRING_METHODS = frozenset(
    ["format", "format_map", "join", "replace", "upper", "lower", "strip", "title"]
)
BIG_WIDTH = re.compile(r"%[-+ #0]*(\*|\d{4,})")
BRACE_RISK = re.compile(r"\d{4,}|\{[^}]*[.\[]")  # huge widths; attribute or item access
STR_OPS = frozenset(
    ["string", "trim", "strip", "lower", "upper", "title", "reverse", "first", "last"]
)
