"""Corpus builders for the weight-file scanner benchmark (writes bytes, never loads them)."""
