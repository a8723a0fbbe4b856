"""``reviewbot setup``: register reviewbot with a platform and write its settings to ``.env``."""


class SetupError(Exception):
    """The setup cannot go on: exit 2 with this one-line message, never a traceback."""
