"""``python -m c2c_sandbox``: the same as ``c2c sandbox``."""

import sys

from c2c_sandbox.cli import main

sys.exit(main())
