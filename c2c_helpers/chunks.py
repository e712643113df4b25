"""Chunk arithmetic: how a file is split across its presigned upload URLs.

Pure functions, no I/O, and nothing of the project imported but redaction (a chunk's repr hides its URL's
signature) and the error a bad argument raises, so the arithmetic can be read, tested and copied on its own.
Sending the bytes is :mod:`c2c_helpers.parts`' job.

The rule is the guide's: with ``n`` upload URLs every part is ``ceil(filesize / n)`` bytes long except the
last, which holds what is left. Part *i* (0-based) covers bytes ``[i * chunk_size, min((i + 1) * chunk_size,
filesize))`` and goes to ``upload_urls[i]``, whose S3 ``partNumber`` is ``i + 1``.

Splitting with floor instead of ceil is a known mistake in the wild: it makes one chunk too many and the last
bytes have no URL to go to.

A presigned part URL also carries its part number (``partNumber``), and S3 places a part by that number, not
by the order the URLs were listed in: a part sent to another part's URL lands in the wrong place and the asset
completes with its bytes shuffled. :func:`misplaced_urls` finds the URLs whose ``partNumber`` is not their
position.

Examples
--------
The guide's test clip, 21,136,250 bytes with two URLs:

>>> chunk_size(21_136_250, 2)
10568125
>>> [(c.start, c.end) for c in plan_chunks(21_136_250, ["https://s3.example/p1", "https://s3.example/p2"])]
[(0, 10568125), (10568125, 21136250)]
>>> misplaced_urls(["https://s3/k?partNumber=2&uploadId=u", "https://s3/k?uploadId=u&partNumber=1"])
[(1, 2), (2, 1)]
>>> misplaced_urls(["https://s3/k?partNumber=1", "https://elsewhere/no-part-number"])
[]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from c2c_helpers._redact import redact_url
from c2c_helpers.errors import InvalidArgument, check_int

__all__ = ["MAX_PARTS", "MIN_PART_SIZE", "Chunk", "chunk_size", "misplaced_urls", "part_number_of", "plan_chunks"]

#: S3 multipart limit: an upload has at most 10,000 parts.
MAX_PARTS = 10_000
#: S3 multipart limit: every part but the last must be at least 5 MiB (checked by S3 when it assembles).
MIN_PART_SIZE = 5 * 1024 * 1024


@dataclass(frozen=True, repr=False)
class Chunk:
    """One part of a file: bytes ``[start, end)`` go to ``url``.

    Parameters
    ----------
    index : int
        0-based position in the plan (and in ``upload_urls``).
    start : int
        Offset of the first byte in the file.
    size : int
        Number of bytes; ``end - start``.
    end : int
        Offset one past the last byte (exclusive).
    url : str
        The presigned PUT URL for this part. Its signature is a credential: the repr shows only the host,
        path and part number.

    Examples
    --------
    >>> c = Chunk(index=1, start=10, size=5, end=15, url="https://s3.example/b/k?partNumber=2&X-Amz-Signature=f00")
    >>> c.number
    2
    >>> c
    Chunk(index=1, start=10, size=5, end=15, url='https://s3.example/b/k?partNumber=2&<signature redacted>')
    """

    index: int
    start: int
    size: int
    end: int
    url: str

    @property
    def number(self) -> int:
        """The S3 part number, 1-based (``index + 1``)."""
        return self.index + 1

    def __repr__(self) -> str:
        return (
            f"Chunk(index={self.index}, start={self.start}, size={self.size}, end={self.end}, "
            f"url={redact_url(self.url)!r})"
        )


def chunk_size(filesize: int, n_urls: int) -> int:
    """Return the size of every part but the last: ``ceil(filesize / n_urls)``.

    Integer arithmetic throughout, so sizes beyond 2**53 bytes are still exact.

    Parameters
    ----------
    filesize : int
        Size of the file in bytes, at least 1.
    n_urls : int
        Number of upload URLs the service returned, at least 1.

    Returns
    -------
    int
        The chunk size in bytes.

    Raises
    ------
    InvalidArgument
        (a ValueError) If `filesize` or `n_urls` is not a positive integer.

    Examples
    --------
    >>> chunk_size(21_136_250, 2)
    10568125
    >>> chunk_size(50_645_990, 3)
    16881997
    >>> chunk_size(10, 3)  # 4 + 4 + 2: the last part is short
    4
    """
    check_int("filesize", filesize, minimum=1)
    check_int("n_urls", n_urls, minimum=1)
    return -(-filesize // n_urls)


def plan_chunks(filesize: int, upload_urls: list[str] | tuple[str, ...]) -> list[Chunk]:
    """Split a file of `filesize` bytes into one :class:`Chunk` per upload URL.

    Every URL gets a non-empty part; together the parts cover the file exactly once, in order.

    Parameters
    ----------
    filesize : int
        Size of the file in bytes, at least 1.
    upload_urls : sequence of str
        The asset's ``upload_urls``, in part order.

    Returns
    -------
    list of Chunk
        Exactly ``len(upload_urls)`` chunks.

    Raises
    ------
    InvalidArgument
        (a ValueError) If `filesize` is not positive, if there are no URLs, or if the ceil split would leave a
        URL with no bytes. The last happens when there are more URLs than the file can fill (for instance 10 bytes and
        6 URLs: chunks of 2 bytes fill only 5 parts). Such a plan cannot be uploaded: the service waits for
        every part it issued a URL for, and S3 would never assemble the file, so the plan is refused instead
        of silently leaving a part empty. Ask for fewer parts.

    Examples
    --------
    >>> urls = [f"https://s3.example/b/k?partNumber={n}" for n in (1, 2, 3)]
    >>> for c in plan_chunks(10, urls):
    ...     print(c.index, c.start, c.end, c.size)
    0 0 4 4
    1 4 8 4
    2 8 10 2
    >>> plan_chunks(10, urls * 2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    c2c_helpers.errors.InvalidArgument: 6 upload URLs for 10 bytes: ... leave 1 URL empty; request at most 5 parts
    """
    check_int("filesize", filesize, minimum=1)
    urls = list(upload_urls)
    if not urls:
        raise InvalidArgument("no upload URLs: the service must return at least one URL to upload a file")
    for i, url in enumerate(urls):
        if not isinstance(url, str) or not url:
            raise InvalidArgument(f"upload URL {i} is not a non-empty string")
    n = len(urls)
    size = chunk_size(filesize, n)
    filled = -(-filesize // size)  # parts that actually get bytes
    if filled < n:
        raise InvalidArgument(
            f"{n} upload URLs for {filesize} bytes: a ceil split gives chunks of {size} bytes, which fill "
            f"only {filled} parts and leave {n - filled} URL{'s' if n - filled > 1 else ''} empty; "
            f"request at most {filled} parts"
        )
    chunks = []
    for i, url in enumerate(urls):
        start = i * size
        end = min(start + size, filesize)
        chunks.append(Chunk(index=i, start=start, size=end - start, end=end, url=url))
    return chunks


def part_number_of(url: str) -> int | None:
    """The ``partNumber`` a presigned part URL is signed for, or None when it has none (or not a number)."""
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key == "partNumber":
            return int(value) if value.isdigit() else None
    return None


def misplaced_urls(urls: Sequence[str]) -> list[tuple[int, int]]:
    """``(position, partNumber)`` (both 1-based) of every URL whose ``partNumber`` is not its position.

    URLs without a ``partNumber`` cannot be checked and are not reported.
    """
    found = [(i, part_number_of(url)) for i, url in enumerate(urls, start=1)]
    return [(i, n) for i, n in found if n is not None and n != i]
