"""The licence check: SPDX headers, LICENSE texts, the model card and what a fine-tune owes its base."""
