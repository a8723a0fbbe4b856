"""Keep secrets out of uvicorn's own log lines: query values in the access log, known secrets.

uvicorn's access log prints each request's path with its query string, and a Hub webhook can be
configured with its secret as ``?secret=``; its error log prints whatever an exception says.
Neither passes through ``reviewbot.logs``, so this filter rewrites their records: every query
value in the access line is replaced, and every registered secret is redacted from both.
Headers are never logged by uvicorn or by the receiver, so ``X-Webhook-Secret``,
``X-Hub-Signature-256`` and ``Authorization`` cannot reach a line.
"""

from __future__ import annotations

import logging
import re

from reviewbot import logs

ACCESS_LOGGER = "uvicorn.access"
ERROR_LOGGER = "uvicorn.error"
HIDDEN = "**********"

_QUERY_PART = re.compile(r"[^&;]+")


def redact_target(target: str) -> str:
    """A request target with each query value hidden: ``/hook?secret=x&a`` → ``/hook?secret=**``.

    A part without a name (``?s3cret``) is hidden whole.
    """
    path, sep, query = target.partition("?")
    if sep:
        query = _QUERY_PART.sub(_hide, query)
    return logs.redact(path + sep + query)


def _hide(part: re.Match[str]) -> str:
    name, eq, _value = part[0].partition("=")
    return f"{name}={HIDDEN}" if eq else HIDDEN


class RedactingFilter(logging.Filter):
    """Installed on uvicorn's loggers by ``install``; rewrites records, never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.name == ACCESS_LOGGER and isinstance(args, tuple) and len(args) == 5:
            # (client, method, target, http version, status): uvicorn's AccessFormatter unpacks
            # exactly this tuple, so it keeps its shape.
            record.args = (args[0], args[1], redact_target(str(args[2])), args[3], args[4])
            return True
        message = record.getMessage()
        cleaned = logs.redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logs.redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = logs.redact(record.exc_text)
        return True


def install() -> None:
    """Put the filter on uvicorn's access and error loggers (idempotent).

    A logger's filters survive uvicorn's ``dictConfig`` (it replaces handlers only), so this may
    run before or after the server configures its logging.
    """
    for name in (ACCESS_LOGGER, ERROR_LOGGER):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
