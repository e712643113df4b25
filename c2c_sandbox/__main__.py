"""``python -m c2c_sandbox``: the same as ``c2c sandbox``."""

import sys

from .server import main

sys.exit(main())
