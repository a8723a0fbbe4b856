"""The safetensors reader decodes BF16, FP16 and FP8 exactly as torch does, NaN and Inf included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

from checks.evals.files import local_folder
from checks.evals.safetensors_reader import SafetensorsFile, to_float32
from checks.evals.tensors import analyse
from checks.evals.weightset import load_weights
from checks.io.source import LocalFile

DTYPES = {
    "BF16": torch.bfloat16,
    "F16": torch.float16,
    "F8_E4M3": torch.float8_e4m3fn,
    "F8_E5M2": torch.float8_e5m2,
}
BITS = {"BF16": torch.int16, "F16": torch.int16, "F8_E4M3": torch.uint8, "F8_E5M2": torch.uint8}


def _all_values(dtype: str) -> torch.Tensor:
    """Every bit pattern of the format (all 65,536 for 16-bit types)."""
    width = 16 if BITS[dtype] == torch.int16 else 8
    bits = torch.arange(1 << width, dtype=torch.int64)
    if width == 16:
        bits = torch.where(bits >= 1 << 15, bits - (1 << 16), bits)
    return bits.to(BITS[dtype]).view(DTYPES[dtype])


@pytest.mark.parametrize("dtype", sorted(DTYPES))
def test_every_bit_pattern_decodes_exactly(dtype: str, tmp_path: Path) -> None:
    values = _all_values(dtype)
    save_file({"t": values}, str(tmp_path / "x.safetensors"))
    with LocalFile(tmp_path / "x.safetensors") as source:
        f = SafetensorsFile(source)
        info = f.tensors["t"]
        assert info.dtype == dtype
        mine = to_float32(f.raw(info), dtype).copy()
    theirs = values.float().numpy()
    assert np.array_equal(np.isnan(mine), np.isnan(theirs))
    ok = ~np.isnan(theirs)
    assert np.array_equal(mine[ok].view(np.uint32), theirs[ok].view(np.uint32))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=64))
def test_nan_and_inf_counts_match_torch_in_bf16(
    tmp_path_factory: pytest.TempPathFactory, xs: list[float]
) -> None:
    folder = tmp_path_factory.mktemp("bf16")
    t = torch.tensor(xs, dtype=torch.float32).to(torch.bfloat16)
    save_file({"w": t}, str(folder / "model.safetensors"))
    with load_weights(local_folder(folder)) as ws:
        found = analyse(ws, None).nonfinite.get("w", (0, 0))
    assert found == (int(t.isnan().sum()), int(t.isinf().sum()))
