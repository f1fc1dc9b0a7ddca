"""Test tooling for your own tests: the provider sandbox.

:class:`Sandbox` is a loopback emulator of what the Yespo, Reteno, Yotpo and Yuvo documents
describe, started in-process on 127.0.0.1 (an ephemeral port) and stopped when its ``with`` block
ends; :data:`SANDBOX_CLIENT_ID` and :data:`SANDBOX_CLIENT_SECRET` are the app it knows from the
start. It lives in a wheel of its own, ``scopegate-testing``, so that the ``scopegate`` wheel every
user downloads carries no test server::

    pip install 'scopegate[testing]'

    from scopegate.testing import Sandbox, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET

Importing this module without that package raises :class:`ImportError` saying so; with another
version of it than scopegate's own, :class:`ImportError` naming both.
"""

from __future__ import annotations

from . import __version__

try:
    from scopegate_testing._native import (
        SANDBOX_CLIENT_ID,
        SANDBOX_CLIENT_SECRET,
        Sandbox,
        connect_sandbox,
    )
    from scopegate_testing._native import __version__ as _testing_version
except ImportError as e:  # pragma: no cover - exercised by the wheel test without the extra
    raise ImportError(
        "scopegate.testing needs the scopegate-testing package (the provider sandbox, kept out of "
        f"the scopegate wheel): pip install 'scopegate[testing]' (scopegate-testing=={__version__})",
        name="scopegate_testing",
    ) from e

if _testing_version != __version__:
    raise ImportError(
        f"scopegate-testing {_testing_version} does not match scopegate {__version__}: "
        f"pip install 'scopegate-testing=={__version__}'",
        name="scopegate_testing",
    )

__all__ = ["SANDBOX_CLIENT_ID", "SANDBOX_CLIENT_SECRET", "Sandbox", "connect_sandbox"]
