"""Renderers: one report, many shapes (text table, JSON, SARIF, the verdict comment)."""
