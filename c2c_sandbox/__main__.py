"""``python -m c2c_sandbox``: the same as ``c2c sandbox``."""

import sys

from c2c_sandbox import missing_extra_error

try:
    from c2c_sandbox.cli import main
except ModuleNotFoundError as exc:
    sys.exit(f"python -m c2c_sandbox: {missing_extra_error('the sandbox', exc)}")

sys.exit(main())
