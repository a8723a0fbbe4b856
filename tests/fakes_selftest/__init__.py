"""Checks of the fakes themselves, through real HTTP clients."""
