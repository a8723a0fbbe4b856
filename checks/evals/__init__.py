"""Quick evals: is a contribution a sound fine-tune of its base (tier 1 numpy, tier 2 torch)."""
