"""scopegate-testing: the provider sandbox of scopegate, for tests. Use it as ``scopegate.testing``
(``from scopegate.testing import Sandbox``); this package only carries the extension module."""
