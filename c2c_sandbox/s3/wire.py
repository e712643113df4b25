"""What the S3 gateway reads off the wire: a ``Content-Length`` as HTTP allows it, a body stream whose framing
errors are the client's, and the headers of a request that its URL did not sign.
"""

from __future__ import annotations

from typing import Any


class BadFraming(Exception):
    """The request body could not be read as framed (a broken chunk header, say): the client's error."""


class Body:
    """The request stream as the part store reads it: a read that fails for a reason other than silence or a
    closed connection (werkzeug's ``OSError("Invalid chunk header")``) is the client's, not a 500."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def readinto(self, buffer: memoryview, /) -> int | None:
        try:
            return int(self._stream.readinto(buffer) or 0)
        except (TimeoutError, ConnectionError):
            raise
        except (OSError, ValueError) as exc:
            raise BadFraming(str(exc)) from exc


def content_length(environ: dict[str, Any]) -> int | None:
    """The request's ``Content-Length``; None when absent; ValueError unless plain ASCII digits (at most 19).

    ``str.isdigit`` and ``int`` accept far more than HTTP does (``"²"``, ``"٣"``, ``"+5"``, ``" 5"``, ``"1_0"``).
    """
    value = environ.get("CONTENT_LENGTH")
    if value is None or value == "":
        return None
    if not (0 < len(value) <= 19 and value.isascii() and value.isdigit()):
        raise ValueError(f"malformed Content-Length {value[:40]!r}")
    return int(value)


def unsigned_headers(environ: dict[str, Any], signed: str) -> list[str]:
    """The ``Content-MD5`` and ``x-amz-*`` headers of the request that ``signed`` (``a;b;c``) does not list."""
    listed = set(signed.lower().split(";"))
    present = (key[5:].lower().replace("_", "-") for key in environ if key.startswith("HTTP_"))
    return sorted(n for n in present if (n == "content-md5" or n.startswith("x-amz-")) and n not in listed)
