"""Base-model cards and snapshots fetched with huggingface_hub from a fake Hub on loopback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from reviewbot.base_model import download_base, fetch_base_cards
from tests.fakes.fake_hub import FakeHub
from tests.licence.conftest import Files, rules, run_check
from tests.redis_server import free_port

LLAMA_CARD = "---\nlicense: llama3.1\n---\n# Llama 3.1 8B\n"


def test_fetch_card_from_readme(fake_hub: FakeHub, tmp_path: Path) -> None:
    fake_hub.add_repo("meta-llama/Llama-3.1-8B", {"README.md": LLAMA_CARD, "config.json": "{}"})
    cards, notes = fetch_base_cards(
        ["meta-llama/Llama-3.1-8B"], endpoint=fake_hub.endpoint, cache_dir=tmp_path
    )
    assert cards == {"meta-llama/Llama-3.1-8B": LLAMA_CARD} and notes == []
    assert (
        "HEAD",
        "/meta-llama/Llama-3.1-8B/resolve/"
        + fake_hub.commit("meta-llama/Llama-3.1-8B")
        + "/README.md",
    ) in fake_hub.requests


def test_missing_and_unreachable_are_notes(fake_hub: FakeHub, tmp_path: Path) -> None:
    fake_hub.add_repo("org/weights-only", {"config.json": "{}"})
    cards, notes = fetch_base_cards(
        ["org/gone", "org/weights-only"], endpoint=fake_hub.endpoint, cache_dir=tmp_path
    )
    assert cards == {}
    assert "org/gone" in notes[0] and "RepositoryNotFoundError" in notes[0]
    assert "no model card" in notes[1]
    dead = f"http://127.0.0.1:{free_port()}"
    cards, notes = fetch_base_cards(["org/x"], endpoint=dead, cache_dir=tmp_path / "c")
    assert cards == {} and "could not fetch" in notes[0]


def test_download_base_takes_weights_config_tokenizer_card(
    fake_hub: FakeHub, tmp_path: Path
) -> None:
    fake_hub.add_repo(
        "org/base",
        {
            "README.md": LLAMA_CARD,
            "config.json": "{}",
            "tokenizer.json": "{}",
            "model.safetensors": b"\x02\0\0\0\0\0\0\0{}",
            "optimizer.pt": b"\x80",
            "training_args.bin": b"\x80",
        },
    )
    path = download_base("org/base", endpoint=fake_hub.endpoint, cache_dir=tmp_path)
    assert sorted(p.name for p in path.iterdir()) == [
        "README.md",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
    ]
    assert (path / "model.safetensors").read_bytes() == b"\x02\0\0\0\0\0\0\0{}"


def test_check_end_to_end_with_the_hub(
    fake_hub: FakeHub, tmp_path: Path, tree: Callable[[Files], Path]
) -> None:
    fake_hub.add_repo("meta-llama/Llama-3.1-8B", {"README.md": LLAMA_CARD})
    root = tree(
        {"README.md": "---\nlicense: mit\nbase_model: meta-llama/Llama-3.1-8B\n---\n# Tuned\n"}
    )
    cards, _ = fetch_base_cards(
        ["meta-llama/Llama-3.1-8B"], endpoint=fake_hub.endpoint, cache_dir=tmp_path / "c"
    )
    result = run_check(root, base_cards=cards)
    assert "base-licence-conflict" in rules(result)
    assert "base model meta-llama/Llama-3.1-8B: llama3.1 (from the Hub)" in result.notes
