"""``reviewbot setup``: register reviewbot with a platform and write its settings to ``.env``."""

from reviewbot.errors import SetupError as SetupError
