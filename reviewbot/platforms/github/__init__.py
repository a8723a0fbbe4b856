"""GitHub: the App's authentication, Git LFS, the verdict surfaces and the error mapping.

``GitHubPlatform`` (``client``) implements ``reviewbot.platforms.base.PlatformClient`` over the
rooms beside it: ``auth`` (installation tokens and PyGithub clients, ``tokens`` their cache),
``lfs`` (pointers, batch links, downloads), ``verdict`` (comment, check run, label) and ``errors``
(GitHub's failures as transient or permanent errors).
"""

from reviewbot.platforms.github.client import DEFAULT_API_URL, GitHubPlatform
from reviewbot.platforms.github.tokens import clear_token_cache
from reviewbot.platforms.github.verdict import CHECK_NAME

__all__ = ["CHECK_NAME", "DEFAULT_API_URL", "GitHubPlatform", "clear_token_cache"]
