"""Secrets out of third-party log lines.

Our own log calls name codes, never values. But urllib3 logs every request line at DEBUG, and two of our
requests carry secrets in the query string because the protocol puts them there: the OAuth refresh (a GET with
``client_secret`` and ``refresh_token``, ``settings/oauth/index.md``) and a file link fetched with the ``auth``
token. Werkzeug's access log (``python -m b24goods serve``) logs query strings too. A filter on those loggers
masks the values of every parameter that can hold a secret, so turning DEBUG on cannot leak them.
"""

from __future__ import annotations

import logging
import re

SECRET_PARAMS = ("auth", "access_token", "refresh_token", "client_secret", "application_token", "event_token",
                 "token", "code", "AUTH_ID", "REFRESH_ID", "APPLICATION_TOKEN")
_SECRET = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(SECRET_PARAMS) + r")=[^&\s\"']+")
LOGGERS = ("urllib3.connectionpool", "werkzeug")


def redact(text: str) -> str:
    """``...&auth=abc&x=1`` → ``...&auth=***&x=1``."""
    return _SECRET.sub(r"\1=***", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


_FILTER = RedactSecrets()


def install() -> None:
    """Idempotent: the filter is attached once per logger."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
