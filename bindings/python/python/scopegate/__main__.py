"""``python -m scopegate login ...``: the command line's login, from Python."""

import sys

from ._cli import main

sys.exit(main())
