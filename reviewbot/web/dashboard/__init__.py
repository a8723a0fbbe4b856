"""The signed-in maintainer dashboard: triage list, contribution pages, charts, re-check."""
