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

#: What the ``sandbox`` extra brings; ``pip install .`` alone (the client) has none of it.
SANDBOX_MODULES = ("flask", "werkzeug", "botocore")


def missing_extra_error(what: str, exc: ModuleNotFoundError) -> ImportError:
    """An ImportError that names the extra to install when `exc` is a module the ``sandbox`` extra brings."""
    if (exc.name or "").partition(".")[0] not in SANDBOX_MODULES:
        return exc
    return ImportError(
        f"{what} needs the 'sandbox' extra ({exc.name} is not installed): pip install '.[sandbox]' in the kit's "
        "folder (or make lab)",
        name=exc.name,
    )


def __getattr__(name: str) -> Any:
    if name == "Sandbox":
        try:
            from c2c_sandbox.server import Sandbox
        except ModuleNotFoundError as exc:
            raise missing_extra_error("c2c_sandbox.Sandbox", exc) from None

        return Sandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
