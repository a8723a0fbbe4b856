"""The licence check: SPDX headers, LICENSE texts, the model card and base-model terms."""
