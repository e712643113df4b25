"""c2c_sandbox: an embedded stand-in for Frame.io's C2C device API and its S3 part uploads.

Start one in Python with :class:`Sandbox` (a context manager), or in a shell with ``c2c sandbox``.
It never imports the client (``c2c_helpers``): a stand-in that shared the client's code would share its
mistakes.
"""

from .server import Sandbox

__all__ = ["Sandbox"]
