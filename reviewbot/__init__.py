"""reviewbot: reviews contributions to open-model repositories and posts one verdict."""

__version__ = "0.1.0"
