"""Keep webhook query strings out of the access log.

Platforms put their signature, nonce and timestamp (and sometimes an ``echostr`` or
``openid``) in the query of ``/webhooks/…`` requests: logged, they are what a replay needs.
The filter drops the query from the path of those lines of uvicorn's access log.
"""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"
WEBHOOK_PREFIX = "/webhooks/"


class WebhookQueryFilter(logging.Filter):
    """Strips the query from ``/webhooks/`` paths in uvicorn's access-log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's path argument in place; never drops a record."""
        args = record.args
        # uvicorn logs (client, method, path with query, http version, status).
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path = args[2]
            if path.startswith(WEBHOOK_PREFIX) and "?" in path:
                record.args = (*args[:2], path.split("?", 1)[0], *args[3:])
        return True


def install() -> None:
    """Add the filter to uvicorn's access logger, once per process."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, WebhookQueryFilter) for f in logger.filters):
        logger.addFilter(WebhookQueryFilter())
