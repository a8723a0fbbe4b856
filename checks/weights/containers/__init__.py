"""Containers the scanner opens: zip, tar (and legacy torch), 7z and compressed streams."""
