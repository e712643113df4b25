"""``python -m c2c_sandbox``: the same as ``c2c sandbox``."""

import sys

from .cli import main

sys.exit(main())
