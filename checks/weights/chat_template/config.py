"""Where loaders find chat templates, and the tokens beside them.

transformers reads a template from ``tokenizer_config.json`` (a string, or named templates), from
``chat_template.jinja`` (where 4.50 and later save it), from ``additional_chat_templates/*.jinja``
(named ones) and, for processors, from ``chat_template.json``; GGUF metadata is read in
``checks.weights.gguf``. Every one goes through the same taint walk.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from checks.findings import Severity
from checks.io.limits import LimitExceeded
from checks.io.source import ByteSource
from checks.weights.chat_template.rules import CONFIG_INVALID, DANGEROUS_DUNDERS, ESCAPE
from checks.weights.chat_template.taint import check_template
from checks.weights.code.names import PROCESSOR_TEMPLATES
from checks.weights.context import ScanContext


def scan_tokenizer_config(source: ByteSource, ctx: ScanContext) -> None:
    """Check the chat template(s) in a ``tokenizer_config.json``."""
    if source.size > ctx.limits.max_config_bytes:
        raise LimitExceeded(f"tokenizer config of {source.size} bytes")
    config = _load_json(source.read_at(0, source.size))
    if not isinstance(config, dict):
        ctx.report(CONFIG_INVALID, Severity.MEDIUM, "tokenizer_config.json is not a JSON object")
        return
    templates = _templates(config.get("chat_template"), ctx)
    for where, template in templates:
        check_template(template, ctx, where)
    if templates:
        _check_special_tokens(config, ctx)


def scan_template_file(source: ByteSource, ctx: ScanContext, where: str) -> None:
    """A ``.jinja`` file that transformers loads as a chat template."""
    if source.size > ctx.limits.max_config_bytes:
        raise LimitExceeded(f"chat template of {source.size} bytes")
    try:
        template = source.read_at(0, source.size).decode("utf-8")
    except UnicodeDecodeError:
        ctx.report(CONFIG_INVALID, Severity.MEDIUM, f"{where} is not UTF-8 text")
        return
    check_template(template, ctx, where)


def scan_processor_templates(source: ByteSource, ctx: ScanContext) -> None:
    """A processor's ``chat_template.json``: ``{"chat_template": ...}`` like a tokenizer's."""
    if source.size > ctx.limits.max_config_bytes:
        raise LimitExceeded(f"{PROCESSOR_TEMPLATES} of {source.size} bytes")
    config = _load_json(source.read_at(0, source.size))
    if not isinstance(config, dict):
        ctx.report(CONFIG_INVALID, Severity.MEDIUM, f"{PROCESSOR_TEMPLATES} is not a JSON object")
        return
    for where, template in _templates(config.get("chat_template"), ctx):
        check_template(template, ctx, where)


def _load_json(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None  # reported by the caller as "not a JSON object"


def _templates(value: Any, ctx: ScanContext) -> list[tuple[str, str]]:
    if value is None:
        return []
    if isinstance(value, str):
        return [("chat_template", value)]
    found: list[tuple[str, str]] = []
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict) and isinstance(item.get("template"), str):
                found.append((f"chat_template[{item.get('name', index)!s}]", item["template"]))
            else:
                ctx.report(
                    CONFIG_INVALID,
                    Severity.MEDIUM,
                    f"chat_template entry #{index} is not a {{name, template}} object",
                )
        return found
    ctx.report(CONFIG_INVALID, Severity.MEDIUM, "chat_template is neither a string nor a list")
    return []


def _check_special_tokens(config: dict[str, Any], ctx: ScanContext) -> None:
    for name, text in _token_strings(config):
        if text.strip() in DANGEROUS_DUNDERS:
            ctx.report(
                ESCAPE,
                Severity.HIGH,
                f"special token {name} is {text!r}: templates receive it as a variable, so it "
                "can serve as a key that reaches Python internals",
                detail=name,
            )


def _token_strings(config: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for key, value in config.items():
        if key.endswith("_token") or key == "additional_special_tokens":
            for item in value if isinstance(value, list) else [value]:
                text = item.get("content") if isinstance(item, dict) else item
                if isinstance(text, str):
                    yield key, text
    decoder = config.get("added_tokens_decoder")
    if isinstance(decoder, dict):
        for token_id, item in decoder.items():
            if isinstance(item, dict) and isinstance(item.get("content"), str):
                yield f"added_tokens_decoder[{token_id}]", item["content"]
