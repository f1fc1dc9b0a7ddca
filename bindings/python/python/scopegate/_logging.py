"""scopegate's log records in :mod:`logging`.

Every token operation and event of the library is a record of the logger named after it, a
child of ``scopegate``: ``scopegate.refresh``, ``scopegate.exchange``,
``scopegate.client_credentials``, ``scopegate.revoke``, ``scopegate.api``, and outside those
``scopegate.retry``, ``scopegate.store.wait``, ... Levels by kind: DEBUG for each operation's end,
INFO for what the library did (a retry, a 401, a wait for another process), WARNING for a failure
or what someone must act on (reauthorization, narrowed scopes), ERROR for renewed tokens not
saved. Messages carry the provider, the account, the outcome, the HTTP status, tries and
durations; never a secret. Configure them as any logger::

    logging.getLogger("scopegate").setLevel(logging.INFO)
"""

from __future__ import annotations

import logging

from ._native import set_log_handler

__all__ = ["install"]


def _emit(level: int, name: str, message: str) -> None:
    logger = logging.getLogger(name)
    if logger.isEnabledFor(level):
        logger.log(level, message)


def install() -> None:
    """Sends the library's records to :mod:`logging` (done on import)."""
    set_log_handler(_emit)
