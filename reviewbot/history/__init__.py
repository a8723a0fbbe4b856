"""The review history: every contribution and every review of it, kept for triage."""
