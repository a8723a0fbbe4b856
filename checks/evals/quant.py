"""Finds quantised modules by the tensor names each quantiser writes, and their parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from checks.evals.weightset import WeightSet

# bitsandbytes 4-bit: the codes in ``weight``, its state beside it under ``weight.*``.
BNB4_STATE = ("absmax", "quant_map", "nested_absmax", "nested_quant_map")
FP8_DTYPES = ("F8_E4M3", "F8_E5M2")


@dataclass(frozen=True)
class QuantModule:
    """One quantised linear layer: ``scheme`` says how to decode ``tensors`` (role -> name)."""

    prefix: str
    scheme: str  # fp8 | ct-int | ct-pack | gptq | awq | bnb-int8 | bnb-4bit
    tensors: Mapping[str, str]
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def weight(self) -> str:
        """The dense weight it stands for (the base's tensor of that name)."""
        return f"{self.prefix}.weight"

    @property
    def codes(self) -> str:
        """The tensor holding the quantised codes: the one findings point at."""
        return self.tensors["codes"]


def quant_config(config: Any) -> dict[str, Any]:
    """The ``quantization_config`` of config.json (or of quantize_config.json), or {}."""
    if not isinstance(config, dict):
        return {}
    inner = config.get("quantization_config", config)
    return inner if isinstance(inner, dict) else {}


def _bits(qc: Mapping[str, Any], default: int) -> int:
    bits = qc.get("bits", qc.get("w_bit"))
    if isinstance(bits, int) and not isinstance(bits, bool) and bits in (2, 4, 8):
        return bits
    groups = qc.get("config_groups")
    if isinstance(groups, dict):
        for group in groups.values():
            weights = group.get("weights") if isinstance(group, dict) else None
            if isinstance(weights, dict) and isinstance(weights.get("num_bits"), int):
                return int(weights["num_bits"])
    return default


def find_quantised(ws: WeightSet, config: Any) -> dict[str, QuantModule]:
    """Quantised modules by their dense weight's name; tensors of no known layout are left out."""
    qc = quant_config(config)
    names = set(ws.where)
    found: dict[str, QuantModule] = {}

    def has(*parts: str) -> bool:
        return all(p in names for p in parts)

    for name in sorted(names):
        prefix, _, leaf = name.rpartition(".")
        module: QuantModule | None = None
        if leaf == "qweight" and has(f"{prefix}.scales", f"{prefix}.qzeros"):
            module = _packed_int(ws, prefix, qc)
        elif leaf == "weight_packed" and has(f"{prefix}.weight_scale"):
            module = _ct_pack(ws, prefix, qc)
        elif leaf == "weight":
            module = _dense_codes(ws, prefix, names)
        if module is not None:
            found[module.weight] = module
    return found


def _packed_int(ws: WeightSet, prefix: str, qc: Mapping[str, Any]) -> QuantModule:
    """GPTQ packs eight 4-bit codes per int32 down the input axis ([in/8, out]); AWQ across the
    output axis ([in, out/8]) in its interleaved order. The scales ([groups, out]) tell which."""
    q, s = ws.info(f"{prefix}.qweight").shape, ws.info(f"{prefix}.scales").shape
    tensors = {
        "codes": f"{prefix}.qweight",
        "scales": f"{prefix}.scales",
        "zeros": f"{prefix}.qzeros",
    }
    if f"{prefix}.g_idx" in ws.where:
        tensors["g_idx"] = f"{prefix}.g_idx"
    method = str(qc.get("quant_method", "")).lower()
    awq = method == "awq" or (
        method != "gptq" and len(q) == len(s) == 2 and q[1] != s[1] and "g_idx" not in tensors
    )
    bits = _bits(qc, 4)
    params: dict[str, Any] = {
        "bits": bits,
        "group_size": qc.get("group_size", qc.get("q_group_size")),
    }
    if awq:
        return QuantModule(prefix, "awq", tensors, params)
    # GPTQ's original (v1) checkpoints store each zero point minus one; "gptq_v2" does not.
    params["zero_offset"] = 0 if str(qc.get("checkpoint_format", "gptq")) == "gptq_v2" else 1
    return QuantModule(prefix, "gptq", tensors, params)


def _ct_pack(ws: WeightSet, prefix: str, qc: Mapping[str, Any]) -> QuantModule:
    tensors = {"codes": f"{prefix}.weight_packed", "scales": f"{prefix}.weight_scale"}
    for role, leaf in (("shape", "weight_shape"), ("zeros", "weight_zero_point")):
        if f"{prefix}.{leaf}" in ws.where:
            tensors[role] = f"{prefix}.{leaf}"
    return QuantModule(prefix, "ct-pack", tensors, {"bits": _bits(qc, 0) or None})


def _dense_codes(ws: WeightSet, prefix: str, names: set[str]) -> QuantModule | None:
    """Codes stored in ``weight`` itself: FP8 or int8 with scales, bitsandbytes int8 or 4-bit."""
    codes = f"{prefix}.weight"
    dtype = ws.info(codes).dtype
    scale = next(
        (f"{prefix}.{s}" for s in ("weight_scale", "weight_scale_inv") if f"{prefix}.{s}" in names),
        None,
    )
    if dtype in FP8_DTYPES and scale is not None:
        return QuantModule(prefix, "fp8", {"codes": codes, "scales": scale})
    if dtype == "I8" and scale is not None:
        tensors = {"codes": codes, "scales": scale}
        if f"{prefix}.weight_zero_point" in names:
            tensors["zeros"] = f"{prefix}.weight_zero_point"
        return QuantModule(prefix, "ct-int", tensors)
    if dtype == "I8" and f"{prefix}.SCB" in names:
        return QuantModule(prefix, "bnb-int8", {"codes": codes, "scales": f"{prefix}.SCB"})
    state = [n for n in names if n.startswith(f"{codes}.quant_state.bitsandbytes__")]
    if dtype == "U8" and f"{codes}.absmax" in names and state:
        tensors = {"codes": codes, "state": state[0]}
        tensors.update({k: f"{codes}.{k}" for k in BNB4_STATE if f"{codes}.{k}" in names})
        return QuantModule(prefix, "bnb-4bit", tensors)
    return None


def auxiliary(modules: Mapping[str, QuantModule]) -> set[str]:
    """Every stored tensor the quantised modules use, codes included."""
    return {n for m in modules.values() for n in m.tensors.values()} | {
        f"{m.prefix}.{leaf}"
        for m in modules.values()
        for leaf in ("input_scale", "weight_format", "weight_global_scale", "input_global_scale")
    }


def quantised_bytes(ws: WeightSet, modules: Mapping[str, QuantModule]) -> int:
    """Bytes the dequantisation reads: each module's stored tensors, whole."""
    return sum(ws.info(n).nbytes for m in modules.values() for n in m.tensors.values())
