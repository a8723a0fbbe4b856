"""Turn a verified body into a JSON object, or a one-line reason why it is not one.

Signed does not mean sane: a sender holding the secret (or a bug upstream) can post JSON that
the standard parser chokes on in ways other than ``JSONDecodeError``: nesting deeper than the
interpreter's recursion limit raises ``RecursionError``, an integer of more than 4,300 digits a
plain ``ValueError``. Each becomes a reason for a 400, never a traceback.
"""

from __future__ import annotations

import json
from typing import Any

from reviewbot.errors import BadPayload as BadPayload


def parse_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object (UTF-8 only, as GitHub and the Hub send it)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadPayload(f"body is not UTF-8 (bad byte at offset {exc.start})") from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise BadPayload("body is not JSON we accept: nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise BadPayload(
            f"body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except ValueError:  # int(str) past sys.get_int_max_str_digits()
        raise BadPayload("body is not JSON we accept: a number too long to read") from None
    if not isinstance(value, dict):
        raise BadPayload(f"body is not a JSON object (top level is {_kind(value)})")
    return value


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"
