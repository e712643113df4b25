"""c2c_sandbox: an embedded stand-in for Frame.io's C2C device API and its S3 part uploads.

Start one in Python with :class:`Sandbox` (a context manager), or in a shell with ``c2c sandbox``.
It never imports the client (``c2c_helpers``): a stand-in that shared the client's code would share its
mistakes. ``Sandbox`` is imported on first use, so ``c2c_sandbox.remote`` (which needs only requests) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from c2c_sandbox.server import Sandbox

__all__ = ["Sandbox"]


def __getattr__(name: str) -> Any:
    if name == "Sandbox":
        from c2c_sandbox.server import Sandbox

        return Sandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
