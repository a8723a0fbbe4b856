"""Tier-2 model evals; only the sandboxed worker process imports these modules (torch)."""
