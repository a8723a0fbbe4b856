"""Tier 2 end to end on a GPT-2-small-sized model (124M parameters, random init, no download)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import torch
from safetensors.numpy import load_file, save_file
from transformers import GPT2Config, GPT2LMHeadModel

from benchmarks.evals_tier1 import _cpu
from checks.base import Contribution
from checks.evals.model_check import ModelEvalCheck
from reviewbot.files import contribution_files
from tests.evals.builders import train_tokenizer


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        torch.manual_seed(0)
        model = GPT2LMHeadModel(GPT2Config())  # GPT-2 small: 12 layers, 768 wide, 50,257 tokens
        params = sum(p.numel() for p in model.parameters())
        model.save_pretrained(base)
        train_tokenizer(base)
        contrib = Path(tmp) / "contrib"
        shutil.copytree(base, contrib)
        tensors = load_file(str(contrib / "model.safetensors"))
        for name, value in tensors.items():
            tensors[name] = value * 1.001
        save_file(tensors, str(contrib / "model.safetensors"), metadata={"format": "pt"})
        c = Contribution(contrib, contribution_files(contrib), base=base, run_model_evals=True)
        start = time.perf_counter()
        result = ModelEvalCheck().run(c)
        wall = time.perf_counter() - start
        print(f"machine: {os.cpu_count()} cores, {_cpu()}")
        print(f"model: GPT-2 small shape, {params / 1e6:.1f}M parameters, fp32")
        print(f"tier 2 wall time (base + contribution, sandbox included): {wall:.1f} s")
        for note in result.notes:
            print("note:", note)
        for f in result.findings:
            print("finding:", f.severity.label, f.rule, f.message)


if __name__ == "__main__":
    main()
