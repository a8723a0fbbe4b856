"""Quantised copies of a saved model, each in the layout its quantiser writes.

compressed-tensors (FP8 and packed int) and bitsandbytes write their own files here; GPTQ and
AWQ need CUDA kernels to install, so their packing is reproduced with numpy, tensor names, shapes,
dtypes, bit order and config keys as AutoGPTQ/GPTQModel and AutoAWQ save them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
AWQ_ORDER = (0, 2, 4, 6, 1, 3, 5, 7)


def compressed_tensors(src: Path, dest: Path, preset: str, group_size: int = 32) -> Path:
    """llm-compressor's save path: scales from each weight's range, then the library's own
    compressor writes the codes ("float-quantized" for FP8, "pack-quantized" for int4/int8)."""
    import torch
    from compressed_tensors.compressors import ModelCompressor
    from compressed_tensors.quantization import (
        QuantizationConfig,
        apply_quantization_config,
        preset_name_to_scheme,
    )
    from compressed_tensors.quantization.utils import calculate_qparams
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32)
    scheme = preset_name_to_scheme(preset, ["Linear"])
    assert scheme.weights is not None
    if scheme.weights.group_size:
        scheme.weights.group_size = group_size
    config = QuantizationConfig(config_groups={"group_0": scheme}, ignore=["lm_head"])
    apply_quantization_config(model, config)
    args = scheme.weights
    with torch.no_grad():
        for module in model.modules():
            if not hasattr(module, "weight_scale"):
                continue
            w = module.weight
            if args.strategy == "channel":
                lo, hi = w.amin(1, keepdim=True), w.amax(1, keepdim=True)
            elif args.strategy == "group":
                g = w.reshape(w.shape[0], -1, group_size)
                lo, hi = g.amin(-1), g.amax(-1)
            else:
                lo, hi = w.amin().reshape(1), w.amax().reshape(1)
            scale, zero = calculate_qparams(lo, hi, args)
            module.weight_scale.copy_(scale.reshape(module.weight_scale.shape))
            if hasattr(module, "weight_zero_point"):
                module.weight_zero_point.copy_(zero.reshape(module.weight_zero_point.shape))
    compressor = ModelCompressor.from_pretrained_model(model)
    compressor.compress_model(model)
    model.save_pretrained(dest)
    compressor.update_config(str(dest))
    _copy_tokenizer(src, dest)
    return dest


def bitsandbytes(src: Path, dest: Path, bits: int) -> Path:
    """transformers loads the model through bitsandbytes (CPU backend) and saves it."""
    import torch
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    q = (
        BitsAndBytesConfig(load_in_8bit=True)
        if bits == 8
        else BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True
        )
    )
    model = AutoModelForCausalLM.from_pretrained(
        src, quantization_config=q, device_map="cpu", dtype=torch.float32
    )
    model.save_pretrained(dest)
    _copy_tokenizer(src, dest)
    return dest


def _pack(q: np.ndarray, bits: int, axis: int) -> np.ndarray:
    """Codes into int32 words, the first in the lowest bits, along ``axis``."""
    per = 32 // bits
    q = q.astype(np.uint64)
    if axis == 0:
        q = q.reshape(q.shape[0] // per, per, q.shape[1])
        words = sum(q[:, j, :] << np.uint64(bits * j) for j in range(per))
    else:
        q = q.reshape(q.shape[0], q.shape[1] // per, per)
        words = sum(q[:, :, j] << np.uint64(bits * j) for j in range(per))
    return np.asarray(words, dtype=np.uint64).astype(np.uint32).view(np.int32)


def gptq(src: Path, dest: Path, bits: int = 4, group_size: int = 32) -> Path:
    """AutoGPTQ's checkpoint ("gptq" format, symmetric, round to nearest): fp16 model,
    qweight [in*bits/32, out], qzeros [groups, out*bits/32] holding zero-1, scales, g_idx."""
    tensors = load_file(str(src / "model.safetensors"))
    out: dict[str, np.ndarray] = {}
    maxq = (1 << bits) - 1
    for name, value in tensors.items():
        prefix = name.removesuffix(".weight")
        if not name.endswith(".weight") or prefix.rsplit(".", 1)[-1] not in LINEAR:
            out[name] = value.astype(np.float16)
            continue
        w = value.astype(np.float32).T  # [in, out]
        groups = w.reshape(-1, group_size, w.shape[1])
        xmax = np.maximum(np.abs(groups.min(1)), groups.max(1))
        scale = (2 * xmax / maxq).astype(np.float16)  # [groups, out]
        zero = np.full(scale.shape, (maxq + 1) // 2, dtype=np.int64)
        g_idx = np.arange(w.shape[0]) // group_size
        s = scale.astype(np.float32)[g_idx]
        q = np.clip(np.round(w / s) + zero[g_idx], 0, maxq).astype(np.int64)
        out[f"{prefix}.qweight"] = _pack(q, bits, axis=0)
        out[f"{prefix}.qzeros"] = _pack(zero - 1, bits, axis=1)
        out[f"{prefix}.scales"] = scale
        out[f"{prefix}.g_idx"] = g_idx.astype(np.int32)
    quant = {
        "bits": bits,
        "group_size": group_size,
        "desc_act": False,
        "sym": True,
        "quant_method": "gptq",
        "checkpoint_format": "gptq",
    }
    return _save(src, dest, out, quant)


def awq(src: Path, dest: Path, group_size: int = 32) -> Path:
    """AutoAWQ's GEMM checkpoint (4-bit, zero point): qweight [in, out/8] and qzeros
    [groups, out/8] in AWQ's nibble order, scales [groups, out], fp16 elsewhere."""
    tensors = load_file(str(src / "model.safetensors"))
    out: dict[str, np.ndarray] = {}
    for name, value in tensors.items():
        prefix = name.removesuffix(".weight")
        if not name.endswith(".weight") or prefix.rsplit(".", 1)[-1] not in LINEAR:
            out[name] = value.astype(np.float16)
            continue
        w = value.astype(np.float32).T  # [in, out]
        groups = w.reshape(-1, group_size, w.shape[1])
        hi, lo = groups.max(1), groups.min(1)
        scale = ((hi - lo).clip(min=1e-5) / 15).astype(np.float16)
        zero = np.clip(-np.round(lo / scale.astype(np.float32)), 0, 15).astype(np.int64)
        g = np.arange(w.shape[0]) // group_size
        q = np.clip(np.round(w / scale.astype(np.float32)[g]) + zero[g], 0, 15).astype(np.int64)

        def pack(codes: np.ndarray) -> np.ndarray:
            cols = codes.reshape(codes.shape[0], -1, 8)[:, :, list(AWQ_ORDER)]
            return _pack(cols.reshape(codes.shape[0], -1), 4, axis=1)

        out[f"{prefix}.qweight"] = pack(q)
        out[f"{prefix}.qzeros"] = pack(zero)
        out[f"{prefix}.scales"] = scale
    quant = {
        "quant_method": "awq",
        "bits": 4,
        "group_size": group_size,
        "zero_point": True,
        "version": "gemm",
    }
    return _save(src, dest, out, quant)


def _save(src: Path, dest: Path, tensors: dict[str, np.ndarray], quant: dict[str, object]) -> Path:
    dest.mkdir(parents=True)
    # safetensors writes an array's memory as it lies: a transposed view must be made C-ordered.
    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    save_file(tensors, str(dest / "model.safetensors"), metadata={"format": "pt"})
    config = json.loads((src / "config.json").read_text(encoding="utf-8"))
    config["quantization_config"] = quant
    config["torch_dtype"] = "float16"
    (dest / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    _copy_tokenizer(src, dest)
    return dest


def _copy_tokenizer(src: Path, dest: Path) -> None:
    for path in src.iterdir():
        if path.name.startswith(("tokenizer", "special_tokens", "generation")):
            shutil.copyfile(path, dest / path.name)


def _rope_permute(w: np.ndarray, heads: int) -> np.ndarray:
    """llama.cpp's converter reorders q/k rows for its RoPE layout; so does this writer."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, w.shape[1]).swapaxes(1, 2).reshape(w.shape)


def gguf_file(
    src: Path,
    dest: Path,
    qtype_name: str,
    change: Callable[[dict[str, np.ndarray]], None] | None = None,
) -> Path:
    """A saved Llama's tensors as llama.cpp's converter writes them, with gguf-py's GGUFWriter:
    its names, q/k rows permuted, matrices quantised to ``qtype_name``, norms in F32."""
    import gguf
    from gguf import GGMLQuantizationType, quants

    config = json.loads((src / "config.json").read_text(encoding="utf-8"))
    layers, heads = config["num_hidden_layers"], config["num_attention_heads"]
    kv = config.get("num_key_value_heads") or heads
    tensors = load_file(str(src / "model.safetensors"))
    if change is not None:
        change(tensors)
    qtype = GGMLQuantizationType[qtype_name]
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, layers)
    dest.mkdir(parents=True)
    writer = gguf.GGUFWriter(str(dest / f"model.{qtype_name}.gguf"), "llama")
    writer.add_block_count(layers)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv)
    writer.add_embedding_length(config["hidden_size"])
    writer.add_context_length(config["max_position_embeddings"])
    for name, value in sorted(tensors.items()):
        gname = names.get_name(name, try_suffixes=(".weight",))
        assert gname is not None, name
        if gname.endswith("attn_q.weight"):
            value = _rope_permute(value, heads)
        elif gname.endswith("attn_k.weight"):
            value = _rope_permute(value, kv)
        if value.ndim == 2:
            writer.add_tensor(gname, quants.quantize(value, qtype), raw_dtype=qtype)
        else:
            writer.add_tensor(gname, value.astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return dest
