"""Tier-1 cost on quantised contributions (FP8, GPTQ, GGUF) against the unquantised comparison."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from benchmarks.evals_tier1 import _cpu
from checks.base import Contribution
from checks.evals.check import QuickEvalCheck
from checks.findings import Severity
from reviewbot.files import contribution_files
from tests.evals import quantised as q


def build_base(dest: Path) -> Path:
    """A Llama from config: 8 layers, hidden 512, vocab 32k (58M parameters, 234 MB fp32)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=32000,
        hidden_size=512,
        intermediate_size=1408,
        num_hidden_layers=8,
        num_attention_heads=8,
        num_key_value_heads=8,
        max_position_embeddings=2048,
        tie_word_embeddings=False,
    )
    LlamaForCausalLM(config).save_pretrained(dest)
    return dest


def finetune(base: Path, dest: Path) -> Path:
    """The unquantised comparison: every matrix moved by 1% of its spread."""
    tensors = load_file(str(base / "model.safetensors"))
    rng = np.random.default_rng(1)
    for name, value in tensors.items():
        if value.ndim == 2:
            noise = rng.standard_normal(value.shape, dtype=np.float32) * 0.01 * value.std()
            tensors[name] = value + noise
    dest.mkdir()
    save_file(tensors, str(dest / "model.safetensors"), metadata={"format": "pt"})
    (dest / "config.json").write_bytes((base / "config.json").read_bytes())
    return dest


def review(root: Path, base: Path) -> tuple[float, str]:
    contribution = Contribution(root=root, files=contribution_files(root), base=base)
    start = time.perf_counter()
    result = QuickEvalCheck().run(contribution)
    seconds = time.perf_counter() - start
    rules = sorted({f.rule for f in result.findings if f.severity >= Severity.LOW})
    return seconds, ", ".join(rules) or "pass"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        root = Path(tmp)
        base = build_base(root / "base")
        variants = {
            "fp32 fine-tune (unquantised)": finetune(base, root / "fp32"),
            "FP8 E4M3, per channel (compressed-tensors)": q.compressed_tensors(
                base, root / "fp8", "FP8_DYNAMIC"
            ),
            "int4 GPTQ, group 32": q.gptq(base, root / "gptq"),
            "GGUF Q8_0": q.gguf_file(base, root / "q8", "Q8_0"),
            "GGUF Q4_0": q.gguf_file(base, root / "q4", "Q4_0"),
        }
        print(
            f"machine: {os.cpu_count()} cores, {_cpu()}, python {sys.version.split()[0]}, "
            f"load average {os.getloadavg()[0]:.1f}, {time.strftime('%Y-%m-%d')}"
        )
        reference = None
        for label, folder in variants.items():
            review(folder, base)  # warm the page cache
            runs = [review(folder, base) for _ in range(args.runs)]
            median = statistics.median(s for s, _ in runs)
            reference = reference or median
            size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
            print(
                f"{label}: {size / 1e6:.0f} MB, median {median:.2f} s over {args.runs} runs "
                f"({min(s for s, _ in runs):.2f}-{max(s for s, _ in runs):.2f}), "
                f"{median / reference:.2f}x the unquantised; verdict rules: {runs[0][1]}"
            )


if __name__ == "__main__":
    main()
