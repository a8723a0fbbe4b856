"""NeMo's ``model_config.yaml``: the classes hydra instantiates from ``_target_`` when it loads."""

from __future__ import annotations

from checks.findings import Severity
from checks.io.source import ByteSource
from checks.weights.context import ScanContext
from checks.weights.serving.yaml_tree import NotYaml, load_yaml, mappings

CONFIG_NAME = "model_config.yaml"
TARGET_KEYS = ("_target_", "target")
# Where NeMo's own configs point: NeMo, Megatron-core and the torch classes its optimisers and
# schedulers name. Anything else is code the reviewer has not seen picked by the config.
KNOWN_PREFIXES = ("nemo.", "megatron.core.", "torch.optim.", "torch.nn.")
RULE = "hydra-target"


def scan_nemo_config(source: ByteSource, ctx: ScanContext) -> None:
    """A finding per ``_target_`` outside the known prefixes; critical when the policy says so."""
    try:
        tree = load_yaml(source, ctx.limits.max_config_bytes)
    except NotYaml as exc:
        ctx.report(
            "malformed-config", Severity.MEDIUM, f"{CONFIG_NAME} is not YAML NeMo can read ({exc})"
        )
        return
    for where, mapping in mappings(tree):
        for key in TARGET_KEYS:
            target = mapping.get(key)
            if isinstance(target, str) and not target.startswith(KNOWN_PREFIXES):
                _report(ctx, f"{where}.{key}" if where else key, target.strip())


def _report(ctx: ScanContext, where: str, target: str) -> None:
    module, _, name = target.rpartition(".")
    verdict = ctx.policy.classify(module or "builtins", name)
    if verdict.severity >= Severity.CRITICAL:
        severity, why = Severity.CRITICAL, f"{verdict.reason} ({verdict.category})"
    else:
        severity, why = Severity.HIGH, "code outside NeMo that this review cannot see"
    ctx.report(
        RULE,
        severity,
        f"hydra imports and calls {target} when NeMo restores this model: {why}",
        detail=where,
        target=target,
    )
