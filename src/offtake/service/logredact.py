"""Keep access tokens out of logs.

uvicorn's access log (``uvicorn.access``) prints each request's path with its query
string, and its error log (``uvicorn.error``) prints WebSocket handshakes the same way,
so ``...?token=eyJ...`` would land in every log.  :class:`RedactTokens` rewrites the
value of any ``token``/``access_token`` query parameter (and an ``Authorization: Bearer``
value, should one be logged) to ``[redacted]`` in the record before it is formatted.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

_QUERY = re.compile(r"(?i)([?&;](?:access_)?token=)[^&\s\"';]+")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-_.~+/]+=*")
REDACTED = "[redacted]"
LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn", "offtake")


def redact(text: str) -> str:
    return _BEARER.sub(r"\1" + REDACTED, _QUERY.sub(r"\1" + REDACTED, text))


class RedactTokens(logging.Filter):
    """A logging filter that never drops a record, only blanks tokens in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
        return True


_FILTER = RedactTokens()


def install_log_redaction() -> None:
    """Attach the filter to uvicorn's and Offtake's loggers and their handlers (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging config with :class:`RedactTokens` on both handlers (for
    ``uvicorn.run(log_config=...)``, so worker processes redact too)."""
    from uvicorn.config import LOGGING_CONFIG

    cfg = copy.deepcopy(LOGGING_CONFIG)
    cfg.setdefault("filters", {})["redact_tokens"] = {"()": "offtake.service.logredact.RedactTokens"}
    for handler in cfg.get("handlers", {}).values():
        handler.setdefault("filters", []).append("redact_tokens")
    return cfg
